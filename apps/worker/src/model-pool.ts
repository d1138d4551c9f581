import { join, resolve } from 'node:path';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { SYNTHGATE_CONFIG, type SynthgateConfig } from '@synthgate/config';
import { type GenerationModel, loadModel } from '@synthgate/generation';

/** Models loaded once per worker process (onnxruntime sessions are expensive to open). */
@Injectable()
export class ModelPool implements OnApplicationShutdown {
  private readonly models = new Map<string, Promise<GenerationModel>>();
  private readonly logger = new Logger('ModelPool');

  constructor(@Inject(SYNTHGATE_CONFIG) private readonly config: SynthgateConfig) {}

  get(name: string): Promise<GenerationModel> {
    let model = this.models.get(name);
    if (!model) {
      model = loadModel(join(resolve(this.config.models.dir), name), {
        threads: this.config.generation.threads,
        executionProvider: this.config.generation.executionProvider,
        kvCacheLimitBytes: this.config.generation.kvCacheLimitBytes,
      });
      // One line per loaded model naming where it runs; after a CUDA fallback, one warning that says why.
      void model.then(
        (loaded) => {
          if (loaded.providerFallback) this.logger.warn(`model ${name} runs on the CPU, not on cuda as GENERATION_EXECUTION_PROVIDER asks: ${loaded.providerFallback}`);
          else this.logger.log(`model ${name} runs on ${loaded.executionProvider}`);
        },
        () => undefined,
      );
      // A failed load is not cached: the next batch tries again (the folder may have been fixed).
      model.catch(() => this.models.delete(name));
      this.models.set(name, model);
    }
    return model;
  }

  async onApplicationShutdown(): Promise<void> {
    const loaded = await Promise.allSettled(this.models.values());
    for (const result of loaded) if (result.status === 'fulfilled') await result.value.release();
    this.models.clear();
  }
}
