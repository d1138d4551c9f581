import { Inject, Injectable } from '@nestjs/common';
import { type GenerationModel } from '@synthgate/generation';
import { Database } from '@synthgate/persistence';
import { batchRng, type MechanismRegistry } from '@synthgate/privacy';
import { MECHANISM_REGISTRY } from './mechanisms';
import { fillPrompt } from './prompt-fill';
import { type ReleaseContext } from './release-context';
import { WorkerMetrics } from './worker-metrics';

/** Thrown out of the decoding loop to hand a batch back (graceful shutdown). */
export class HandBack extends Error {
  constructor() {
    super('batch handed back');
  }
}

/**
 * A record's prompt, cut to the release's public bound on prompt tokens by shortening the record
 * text only: the template around it (the label part) stays whole, and the cut depends on this
 * record and public values alone.
 */
function recordPrompt(model: GenerationModel, template: string, text: string, label: string | null, maxPromptTokens: number): string {
  const at = template.indexOf('{text}');
  const before = fillPrompt(template.slice(0, at), '', label);
  const after = fillPrompt(template.slice(at + '{text}'.length), '', label);
  return model.fitPrompt({ before, text, after }, maxPromptTokens);
}

/**
 * PostgreSQL text cannot hold NUL, which a model can emit through a byte-fallback token. Dropping
 * it is post-processing of the mechanism's output, so it costs no privacy.
 */
function storableText(text: string): string {
  return text.replaceAll('\u0000', '');
}

/**
 * Decodes one batch's synthetic example with the release's mechanism, built from its stored
 * parameters through the injected registry (what was charged is what runs). Reads the batch's
 * records only when the mechanism reads records at all.
 */
@Injectable()
export class BatchGenerator {
  constructor(
    private readonly database: Database,
    private readonly metrics: WorkerMetrics,
    @Inject(MECHANISM_REGISTRY) private readonly mechanisms: MechanismRegistry,
  ) {}

  async generate(context: ReleaseContext, model: GenerationModel, batchIndex: number, signal: AbortSignal): Promise<{ text: string; tokens: number }> {
    const { release, mechanism } = context;
    const parameters = release.parameters;
    const entry = this.mechanisms.of(mechanism);
    const group = release.labelPlan.find((plan) => batchIndex >= plan.offset && batchIndex < plan.offset + plan.batches);
    const label = group?.label ?? null;
    const publicPrompt = fillPrompt(context.publicPromptTemplate, '', label);
    // Deterministic per batch from the release's secret seed: a retry replays the same randomness.
    const rng = batchRng(release.randomSeed, batchIndex);
    const started = process.hrtime.bigint();
    if (entry.partition === 'none') {
      // No record is read: the example comes from the public prompt alone.
      const sampler = entry.createSampler(mechanism, model.info.vocabSize, rng);
      const result = await model.generateText({ prompt: publicPrompt, maxNewTokens: parameters.maxTokens, sampler });
      this.metrics.recordBatch(result.tokenIds.length, 0, Number(process.hrtime.bigint() - started) / 1e9);
      return { text: storableText(result.continuation), tokens: result.tokenIds.length };
    }
    const records = await this.database.repositories.records.texts(context.batches[batchIndex] ?? []);
    // Public bounds only (DESIGN.md section 4): prompts are cut to maxPromptTokens and the engine plans
    // memory from it. Releases made before it existed use the model's context room, the old cut.
    const room = model.info.maxPositions - parameters.maxTokens;
    const maxPromptTokens = parameters.maxPromptTokens ?? (Number.isFinite(room) ? Math.max(1, room) : 1_000_000);
    let lastStep: bigint | null = null;
    const example = await model.generateExample({
      privatePrompts: records.map((record) => recordPrompt(model, context.promptTemplate, record.text, record.label, maxPromptTokens)),
      publicPrompt,
      params: { ...mechanism, maxNewTokens: parameters.maxTokens, maxPromptTokens },
      mechanisms: this.mechanisms,
      rng,
      mode: 'kv-cache',
      onStep: (trace) => {
        if (signal.aborted) throw new HandBack();
        // Fleet-wide histogram only (like the token counts): never stored with the release.
        if (trace.drafterStatistic !== null) this.metrics.observeDrafterStatistic(trace.drafterStatistic);
        // Step latency for the fleet's histogram; the first interval holds the prefill, so it starts after it.
        const now = process.hrtime.bigint();
        if (lastStep !== null) this.metrics.observeStep(Number(now - lastStep) / 1e9);
        lastStep = now;
      },
    });
    // Private and public step counts go to aggregate metrics only: they are not covered by the
    // guarantee and are never stored with the release (DESIGN.md section 4).
    this.metrics.recordBatch(example.publicSteps, example.privateSteps, Number(process.hrtime.bigint() - started) / 1e9);
    return { text: storableText(example.text), tokens: example.tokenIds.length };
  }
}
