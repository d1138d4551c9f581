import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { SYNTHGATE_CONFIG, type SynthgateConfig } from '@synthgate/config';
import { Database } from '@synthgate/persistence';
import { ReleaseBatchProcessor } from './release-batch.processor';
import { WorkerMetrics } from './worker-metrics';
import { isDatabaseUnavailable } from './worker-supervisor';

/** Rows of workers silent this long are folded into the fleet's retired totals. */
const RETIRE_AFTER_SECONDS = 24 * 3600;

/**
 * Writes this worker's totals to `worker_metrics` every heartbeat and once more at shutdown, so
 * the gateway's GET /metrics sums every worker on every machine (workers serve no HTTP). At start
 * it folds the rows of workers gone for a day into one retired row.
 */
@Injectable()
export class WorkerMetricsPublisher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('WorkerMetrics');
  private timer: NodeJS.Timeout | null = null;
  /** The write in flight and whether another was asked for meanwhile: one write at a time, in order. */
  private writing: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly database: Database,
    private readonly metrics: WorkerMetrics,
    private readonly processor: ReleaseBatchProcessor,
    @Inject(SYNTHGATE_CONFIG) private readonly config: SynthgateConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.database
      .transaction((repositories) => repositories.metrics.retireWorkers(RETIRE_AFTER_SECONDS))
      .catch((error: unknown) => this.logger.warn(`could not retire old worker metrics: ${error instanceof Error ? error.message : String(error)}`));
    await this.publish();
    this.timer = setInterval(() => void this.publish(), this.config.worker.heartbeatSeconds * 1000);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.publish();
  }

  /**
   * Never throws: metrics are lost for one interval at most (the totals are absolute). Writes
   * never overlap: a call while one is in flight is folded into one more write after it, which
   * reads the totals then, so the last call's totals are always written last.
   */
  publish(): Promise<void> {
    if (this.writing) {
      this.again = true;
      return this.writing;
    }
    this.writing = (async () => {
      do {
        this.again = false;
        await this.write();
      } while (this.again);
      this.writing = null;
    })();
    return this.writing;
  }

  private async write(): Promise<void> {
    try {
      await this.database.repositories.metrics.saveWorker({
        workerId: this.processor.workerId,
        startedAt: this.metrics.startedAt,
        batches: this.metrics.batches,
        privateTokens: this.metrics.privateTokens,
        publicTokens: this.metrics.publicTokens,
        generationSeconds: this.metrics.generationSeconds,
        step: this.metrics.stepHistogram,
        drafterStatistic: this.metrics.drafterStatisticHistogram,
      });
    } catch (error) {
      // A lost database is the supervisor's to report, once (worker-supervisor.ts).
      if (!isDatabaseUnavailable(error)) this.logger.warn(`could not publish metrics: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
