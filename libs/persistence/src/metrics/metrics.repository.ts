import { type EntityManager } from 'typeorm';
import { type ReleaseStatus, releaseStatuses } from '../releases/release.entity';

/** Latency histogram with fixed upper bounds; `counts` has one more entry (above the last bound). */
export interface LatencyHistogram {
  readonly bounds: readonly number[];
  readonly counts: readonly number[];
  readonly sum: number;
}

/** What one worker process has done since it started (absolute totals, not increments). */
export interface WorkerMetricsSnapshot {
  readonly workerId: string;
  readonly startedAt: Date;
  readonly batches: number;
  readonly privateTokens: number;
  readonly publicTokens: number;
  readonly generationSeconds: number;
  readonly step: LatencyHistogram;
  /** The sparse-vector drafter's statistic at every tested step (absent: none observed). */
  readonly drafterStatistic?: LatencyHistogram;
}

/** Totals over every worker that ever reported (so they only grow), and how many report now. */
export interface FleetMetrics {
  readonly workersAlive: number;
  readonly batches: number;
  readonly privateTokens: number;
  readonly publicTokens: number;
  readonly generationSeconds: number;
  /** Summed over the workers (and retired totals) sharing the bucket bounds of the most recent live worker; null before any step was timed. */
  readonly step: LatencyHistogram | null;
  /** The drafter statistic's histogram, merged the same way; null before any drafter step. */
  readonly drafterStatistic: LatencyHistogram | null;
}

/** The row that keeps the totals of workers gone for good, so fleet sums never go down. */
const RETIRED = 'retired';

interface WorkerRow {
  worker_id: string;
  batches: string;
  private_tokens: string;
  public_tokens: string;
  generation_seconds: number;
  step_bucket_bounds: number[];
  step_bucket_counts: string[];
  step_seconds_sum: number;
  drafter_bucket_bounds: number[];
  drafter_bucket_counts: string[];
  drafter_statistic_sum: number;
}

const COLUMNS = 'worker_id, batches, private_tokens, public_tokens, generation_seconds, step_bucket_bounds, step_bucket_counts, step_seconds_sum, drafter_bucket_bounds, drafter_bucket_counts, drafter_statistic_sum';

type MutableHistogram = { bounds: number[]; counts: number[]; sum: number };

function addHistogram(into: MutableHistogram | null, bounds: number[], rowCounts: string[], sum: number): MutableHistogram | null {
  if (rowCounts.length === 0) return into;
  const counts = rowCounts.map(Number);
  if (!into) return { bounds: [...bounds], counts, sum };
  // Workers of another version may bucket differently: their histogram cannot be merged.
  if (into.bounds.length !== bounds.length || into.bounds.some((bound, i) => bound !== bounds[i])) return into;
  return { bounds: into.bounds, counts: into.counts.map((count, i) => count + counts[i]!), sum: into.sum + sum };
}

const addStep = (into: MutableHistogram | null, row: WorkerRow) => addHistogram(into, row.step_bucket_bounds, row.step_bucket_counts, row.step_seconds_sum);
const addDrafter = (into: MutableHistogram | null, row: WorkerRow) => addHistogram(into, row.drafter_bucket_bounds, row.drafter_bucket_counts, row.drafter_statistic_sum);

/**
 * Operational aggregates for GET /metrics: releases by state and the worker fleet's counters.
 * Nothing here carries a name, a text or an organisation: the metrics are instance-wide.
 */
export class MetricsRepository {
  constructor(private readonly manager: EntityManager) {}

  /** Number of releases in each state, every state present. */
  async releasesByStatus(): Promise<Record<ReleaseStatus, number>> {
    const rows: { status: ReleaseStatus; count: number }[] = await this.manager.query('SELECT status, count(*)::int AS count FROM release GROUP BY status');
    const counts = Object.fromEntries(releaseStatuses.map((status) => [status, 0])) as Record<ReleaseStatus, number>;
    for (const row of rows) counts[row.status] = row.count;
    return counts;
  }

  /**
   * Writes a worker's totals (idempotent: absolute values, so a lost write loses nothing). Times
   * are the database's clock, so workers on machines with skewed clocks still count as alive.
   * A snapshot older than the stored one (a slow write overtaken by a later one) changes nothing:
   * the totals never go backwards, which Prometheus would read as a counter reset.
   */
  async saveWorker(snapshot: WorkerMetricsSnapshot): Promise<void> {
    await this.manager.query(
      `INSERT INTO worker_metrics (worker_id, started_at, updated_at, batches, private_tokens, public_tokens, generation_seconds, step_bucket_bounds, step_bucket_counts, step_seconds_sum,
         drafter_bucket_bounds, drafter_bucket_counts, drafter_statistic_sum)
       VALUES ($1, $2, now(), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT (worker_id) DO UPDATE SET updated_at = EXCLUDED.updated_at, batches = EXCLUDED.batches, private_tokens = EXCLUDED.private_tokens,
         public_tokens = EXCLUDED.public_tokens, generation_seconds = EXCLUDED.generation_seconds, step_bucket_bounds = EXCLUDED.step_bucket_bounds,
         step_bucket_counts = EXCLUDED.step_bucket_counts, step_seconds_sum = EXCLUDED.step_seconds_sum, drafter_bucket_bounds = EXCLUDED.drafter_bucket_bounds,
         drafter_bucket_counts = EXCLUDED.drafter_bucket_counts, drafter_statistic_sum = EXCLUDED.drafter_statistic_sum
       WHERE worker_metrics.batches <= EXCLUDED.batches AND worker_metrics.generation_seconds <= EXCLUDED.generation_seconds
         AND worker_metrics.step_seconds_sum <= EXCLUDED.step_seconds_sum`,
      [
        snapshot.workerId,
        snapshot.startedAt,
        snapshot.batches,
        snapshot.privateTokens,
        snapshot.publicTokens,
        snapshot.generationSeconds,
        snapshot.step.bounds,
        snapshot.step.counts,
        snapshot.step.sum,
        snapshot.drafterStatistic?.bounds ?? [],
        snapshot.drafterStatistic?.counts ?? [],
        snapshot.drafterStatistic?.sum ?? 0,
      ],
    );
  }

  /** Fleet totals; a worker counts as alive when it reported in the last `aliveSeconds`. */
  async fleet(aliveSeconds: number): Promise<FleetMetrics> {
    const rows: (WorkerRow & { alive: boolean })[] = await this.manager.query(
      `SELECT ${COLUMNS}, updated_at >= now() - make_interval(secs => $1) AS alive
       FROM worker_metrics ORDER BY worker_id = $2, updated_at DESC`,
      [aliveSeconds, RETIRED],
    );
    let step: MutableHistogram | null = null;
    let drafterStatistic: MutableHistogram | null = null;
    const totals = { workersAlive: 0, batches: 0, privateTokens: 0, publicTokens: 0, generationSeconds: 0 };
    for (const row of rows) {
      if (row.worker_id !== RETIRED && row.alive) totals.workersAlive += 1;
      totals.batches += Number(row.batches);
      totals.privateTokens += Number(row.private_tokens);
      totals.publicTokens += Number(row.public_tokens);
      totals.generationSeconds += row.generation_seconds;
      step = addStep(step, row);
      drafterStatistic = addDrafter(drafterStatistic, row);
    }
    return { ...totals, step, drafterStatistic };
  }

  /**
   * Folds the rows of workers silent for `silentSeconds` into the retired row and deletes them,
   * so the table stays as small as the live fleet while the totals keep growing. Run it in a
   * transaction (two workers starting together fold each row once: the retired row is locked).
   */
  async retireWorkers(silentSeconds: number): Promise<number> {
    await this.manager.query(`INSERT INTO worker_metrics (worker_id, started_at, updated_at) VALUES ($1, now(), now()) ON CONFLICT (worker_id) DO NOTHING`, [RETIRED]);
    const [retired]: WorkerRow[] = await this.manager.query(
      `SELECT ${COLUMNS} FROM worker_metrics WHERE worker_id = $1 FOR UPDATE`,
      [RETIRED],
    );
    const [gone]: [WorkerRow[], number] = await this.manager.query(
      `DELETE FROM worker_metrics WHERE worker_id <> $1 AND updated_at < now() - make_interval(secs => $2)
       RETURNING ${COLUMNS}`,
      [RETIRED, silentSeconds],
    );
    if (!retired || gone.length === 0) return 0;
    let step = addStep(null, retired);
    let drafterStatistic = addDrafter(null, retired);
    let batches = Number(retired.batches);
    let privateTokens = Number(retired.private_tokens);
    let publicTokens = Number(retired.public_tokens);
    let generationSeconds = retired.generation_seconds;
    for (const row of gone) {
      batches += Number(row.batches);
      privateTokens += Number(row.private_tokens);
      publicTokens += Number(row.public_tokens);
      generationSeconds += row.generation_seconds;
      step = addStep(step, row);
      drafterStatistic = addDrafter(drafterStatistic, row);
    }
    await this.manager.query(
      `UPDATE worker_metrics SET updated_at = now(), batches = $2, private_tokens = $3, public_tokens = $4, generation_seconds = $5,
         step_bucket_bounds = $6, step_bucket_counts = $7, step_seconds_sum = $8, drafter_bucket_bounds = $9, drafter_bucket_counts = $10,
         drafter_statistic_sum = $11 WHERE worker_id = $1`,
      [
        RETIRED,
        batches,
        privateTokens,
        publicTokens,
        generationSeconds,
        step?.bounds ?? [],
        step?.counts ?? [],
        step?.sum ?? 0,
        drafterStatistic?.bounds ?? [],
        drafterStatistic?.counts ?? [],
        drafterStatistic?.sum ?? 0,
      ],
    );
    return gone.length;
  }
}
