/** Number and time formats used across the console (times in UTC, as the API stores them). */

export function formatEpsilon(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  if (Math.abs(value) < 0.001) return value.toExponential(2);
  return value.toFixed(3).replace(/\.?0+$/, '');
}

/** null: unbounded, as for a non-private reference release. */
export function formatRho(value: number | null): string {
  if (value === null) return 'unbounded';
  if (value === 0) return '0';
  return Math.abs(value) < 0.01 || Math.abs(value) >= 1000 ? value.toExponential(3) : value.toPrecision(4);
}

/** The epsilon a release costs, or why it has none. */
export function formatCostEpsilon(cost: { differentiallyPrivate: boolean; epsilon: number | null }): string {
  return cost.differentiallyPrivate && cost.epsilon !== null ? formatEpsilon(cost.epsilon) : '∞ (no privacy guarantee)';
}

export function formatNumber(value: number, digits = 0): string {
  return value.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function formatPercent(part: number, whole: number): string {
  if (whole <= 0) return '0%';
  return `${((100 * part) / whole).toFixed(1).replace(/\.0$/, '')}%`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return 'unknown';
  const total = Math.max(0, Math.round(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = total % 60;
  if (hours > 0) return `${hours} h ${minutes} min`;
  if (minutes > 0) return `${minutes} min ${rest} s`;
  return `${rest} s`;
}

/** `2026-11-29 03:37:39 UTC`: the same for every reader, whatever their time zone. */
export function formatTime(iso: string | null): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}
