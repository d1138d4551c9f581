import { formatEpsilon, formatPercent } from '../format';

/**
 * Spent against total epsilon. `large` draws a half-circle gauge, the default a bar; both carry
 * the figures as text, so nothing depends on seeing the drawing.
 */
export function BudgetGauge({ spent, total, large = false }: { spent: number; total: number; large?: boolean }) {
  const share = total > 0 ? Math.min(1, Math.max(0, spent / total)) : 0;
  const level = share >= 0.9 ? 'high' : share >= 0.6 ? 'medium' : 'low';
  const text = `${formatEpsilon(spent)} of ${formatEpsilon(total)} ε spent (${formatPercent(spent, total)})`;
  if (!large) {
    return (
      <div className="gauge-bar">
        <svg viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true" focusable="false">
          <rect x="0" y="0" width="100" height="8" rx="2" className="gauge-track" />
          <rect x="0" y="0" width={100 * share} height="8" rx="2" className={`gauge-fill gauge-${level}`} />
        </svg>
        <span>{text}</span>
      </div>
    );
  }
  // Half circle from the left (0) to the right (total); the needle end follows the share.
  const radius = 80;
  const angle = Math.PI * (1 - share);
  const x = 100 + radius * Math.cos(angle);
  const y = 100 - radius * Math.sin(angle);
  return (
    <figure className="gauge">
      <svg viewBox="0 0 200 118" role="img" aria-label={`Budget gauge: ${text}`}>
        <path d="M 20 100 A 80 80 0 0 1 180 100" className="gauge-track-arc" />
        {share > 0 ? <path d={`M 20 100 A 80 80 0 0 1 ${x.toFixed(2)} ${y.toFixed(2)}`} className={`gauge-arc gauge-${level}`} /> : null}
        <text x="100" y="88" textAnchor="middle" className="gauge-value">
          {formatPercent(spent, total)}
        </text>
        <text x="100" y="108" textAnchor="middle" className="gauge-caption">
          of the budget spent
        </text>
      </svg>
      <figcaption>{text}</figcaption>
    </figure>
  );
}
