import { useId } from 'react';

export interface StepPoint {
  /** Milliseconds since the epoch. */
  time: number;
  value: number;
  /** Read out and shown on hover for marked points. */
  label: string;
  /** Marked points get a dot (ledger entries); others only shape the line. */
  marker?: 'debit' | 'refund';
}

const WIDTH = 640;
const HEIGHT = 260;
const MARGIN = { left: 56, right: 20, top: 16, bottom: 40 };

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function shortTime(time: number, span: number): string {
  const iso = new Date(time).toISOString();
  return span < 86_400_000 ? iso.slice(11, 19) : iso.slice(0, 10);
}

/**
 * A step line over time in plain SVG: values hold until the next point, as a ledger's running
 * total does. `reference` draws a dashed horizontal line (the budget).
 */
export function StepChart({
  title,
  description,
  points,
  yLabel,
  yMax,
  reference,
}: {
  title: string;
  description: string;
  points: StepPoint[];
  yLabel: string;
  yMax?: number;
  reference?: { value: number; label: string };
}) {
  const id = useId();
  const first = points[0]?.time ?? 0;
  const last = points[points.length - 1]?.time ?? first;
  const span = Math.max(1, last - first);
  // An explicit maximum (the budget) is kept as it is, so the ticks fall on its quarters.
  const highest = Math.max(reference?.value ?? 0, ...points.map((point) => point.value));
  const top = yMax !== undefined && yMax > 0 && yMax >= highest ? yMax : niceMax(Math.max(yMax ?? 0, highest));
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (time: number) => MARGIN.left + (plotWidth * (time - first)) / span;
  const y = (value: number) => MARGIN.top + plotHeight * (1 - Math.max(0, value) / top);

  let path = '';
  points.forEach((point, index) => {
    path += index === 0 ? `M ${x(point.time).toFixed(1)} ${y(point.value).toFixed(1)}` : ` H ${x(point.time).toFixed(1)} V ${y(point.value).toFixed(1)}`;
  });
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((share) => share * top);
  const xTicks = points.length > 1 ? [first, first + span / 2, last] : [first];

  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby={`${id}-title ${id}-desc`}>
        <title id={`${id}-title`}>{title}</title>
        <desc id={`${id}-desc`}>{description}</desc>
        {yTicks.map((tick) => (
          <g key={tick}>
            <line x1={MARGIN.left} x2={WIDTH - MARGIN.right} y1={y(tick)} y2={y(tick)} className="chart-grid" />
            <text x={MARGIN.left - 8} y={y(tick) + 4} textAnchor="end" className="chart-tick">
              {Number(tick.toPrecision(3))}
            </text>
          </g>
        ))}
        {xTicks.map((tick, index) => (
          <text key={index} x={x(tick)} y={HEIGHT - MARGIN.bottom + 18} textAnchor={index === 0 ? 'start' : index === xTicks.length - 1 ? 'end' : 'middle'} className="chart-tick">
            {shortTime(tick, span)}
          </text>
        ))}
        <text x={14} y={MARGIN.top + plotHeight / 2} transform={`rotate(-90 14 ${MARGIN.top + plotHeight / 2})`} textAnchor="middle" className="chart-axis-label">
          {yLabel}
        </text>
        <text x={MARGIN.left + plotWidth / 2} y={HEIGHT - 4} textAnchor="middle" className="chart-axis-label">
          time (UTC)
        </text>
        {reference ? (
          <g>
            <line x1={MARGIN.left} x2={WIDTH - MARGIN.right} y1={y(reference.value)} y2={y(reference.value)} className="chart-reference" />
            <text x={WIDTH - MARGIN.right} y={y(reference.value) - 6} textAnchor="end" className="chart-tick">
              {reference.label}
            </text>
          </g>
        ) : null}
        <path d={path} className="chart-line" />
        {points
          .filter((point) => point.marker)
          .map((point, index) => (
            <circle key={index} cx={x(point.time)} cy={y(point.value)} r={5} className={`chart-marker chart-marker-${point.marker}`}>
              <title>{point.label}</title>
            </circle>
          ))}
      </svg>
      <figcaption>{description}</figcaption>
    </figure>
  );
}
