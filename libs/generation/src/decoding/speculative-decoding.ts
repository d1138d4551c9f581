import { performance } from 'node:perf_hooks';
import { type KvCacheBatch } from '../runtime/kv-cache-batch';
import { type DecodingOutcome, type DecodingSettings, type StopReason } from './private-decoding';
import { ConstraintGuard } from './token-constraint';

/** Inputs of {@link runSpeculativeDecoding}. */
export interface SpeculativeDecodingInput extends DecodingSettings {
  /** The private rows (null when the batch has none); never the public row. */
  readonly batch: KvCacheBatch | null;
  /** The public row alone: it drafts, and its logits are the public row of every step. */
  readonly publicBatch: KvCacheBatch;
  /** Longest draft verified in one batched pass (>= 2). */
  readonly maxDraftTokens: number;
}

/**
 * Speculative verification (DESIGN.md section 5, "Beyond the paper"): the public row drafts
 * tokens alone from `softmax(z_pub / tau_pub)`; the private rows then score the draft in one
 * batched forward pass, and the sparse-vector test runs position by position. A public decision
 * accepts the drafted token, which was drawn from exactly the distribution the sequential public
 * step draws from; the first private decision samples a private token instead, cuts the draft there
 * and rolls the KV caches back. Token distribution and privacy cost are those of one-at-a-time
 * decoding: every test and every private sample sees the logits of the same prefix, and drafts
 * come from the public row only. The public row never shares a forward pass with a private row, so
 * its logits do not depend on the records (DESIGN.md section 4). What changes is the number of
 * batched forward passes.
 */
export async function runSpeculativeDecoding(input: SpeculativeDecodingInput): Promise<DecodingOutcome> {
  const { batch, publicBatch, sampler, vocabSize, privateRows } = input;
  const rows = privateRows + 1;
  const privateFloats = privateRows * vocabSize;
  const started = performance.now();
  // `step` is the [rows, vocab] buffer every decision reads: private rows first, the public row last.
  const step = new Float32Array(rows * vocabSize);
  const stepPublic = step.subarray(privateFloats);
  const setPrivate = (source: Float32Array): void => step.set(source.subarray(0, privateFloats));
  if (batch) setPrivate(await batch.prefill());
  stepPublic.set(await publicBatch.prefill());
  const prefillMs = performance.now() - started;
  const tokenIds: number[] = [];
  // The public row's logits at each drafted position (position j follows drafts[0 .. j-1]).
  const publicAt: Float32Array[] = Array.from({ length: input.maxDraftTokens }, () => new Float32Array(vocabSize));
  // Constraint state of the accepted tokens; `draftStates[j]` is the state before draft j.
  const guard = input.constraint ? new ConstraintGuard(input.constraint) : null;
  const restrict = (state: unknown) => {
    if (guard) sampler.restrictTo(guard.constraint.allowedIn(state));
  };
  // After the private-token cap, an open record is finished by public steps (see private-decoding.ts).
  let capped = false;
  let privateSteps = 0;
  let publicSteps = 0;
  let forcedSteps = 0;
  let mechanismMs = 0;
  let draftLength = input.maxDraftTokens;
  let stop: StopReason | null = null;
  let trace = 0;

  const timed = <T>(f: () => T): T => {
    const t = performance.now();
    const value = f();
    mechanismMs += performance.now() - t;
    return value;
  };
  /** Records a decided token; returns false when decoding must stop. */
  const decide = (token: number, isPrivate: boolean, forced = false): boolean => {
    if (isPrivate) privateSteps += 1;
    else publicSteps += 1;
    if (forced) forcedSteps += 1;
    input.onStep?.({ step: trace, logits: step, publicLogits: stepPublic, token, private: isPrivate, drafterStatistic: forced || Number.isNaN(sampler.lastStatistic) ? null : sampler.lastStatistic });
    trace += 1;
    if (input.eosTokenIds.has(token)) {
      stop = 'eos';
      return false;
    }
    tokenIds.push(token);
    guard?.accept(token);
    if (guard?.finished) stop = capped ? 'private-token-cap' : 'eos';
    else if (isPrivate && privateSteps >= input.privateTokenCap && !guard?.mustFinish) stop = 'private-token-cap';
    else if (tokenIds.length >= input.maxNewTokens) stop = capped || privateSteps >= input.privateTokenCap ? 'private-token-cap' : 'max-new-tokens';
    if (isPrivate && privateSteps >= input.privateTokenCap) capped = true;
    return stop === null;
  };
  /** After a private token: both caches take it; the step buffer gets the next logits. */
  const appendPrivate = async (token: number): Promise<void> => {
    if (batch) setPrivate(await batch.append(token));
    stepPublic.set(await publicBatch.append(token));
  };

  while (stop === null) {
    // A token every valid continuation starts with (a record's syntax) is written, not sampled:
    // both batches take it, as after a private token.
    const forced = guard?.forced()[0];
    if (forced !== undefined) {
      if (!decide(forced, false, true)) break;
      await appendPrivate(forced);
      continue;
    }
    if (capped) {
      // Public steps alone finish the record; the private rows are not read again.
      restrict(guard!.state);
      const token = timed(() => sampler.samplePublic(stepPublic));
      if (!decide(token, false)) break;
      stepPublic.set(await publicBatch.append(token));
      continue;
    }
    // Position 1 of the round: its logits are at hand, so test before drafting anything.
    const roundState = guard?.state ?? 0;
    restrict(roundState);
    if (timed(() => sampler.isPrivateStep(step, privateRows, stepPublic))) {
      const token = timed(() => sampler.samplePrivate(step, privateRows, stepPublic));
      if (!decide(token, true)) break;
      await appendPrivate(token);
      continue;
    }
    const lead = timed(() => sampler.samplePublic(stepPublic));
    if (!decide(lead, false)) break;
    // Draft from the public row alone, within the token budget, keeping its logits at each position.
    const budget = Math.min(draftLength, input.maxNewTokens - tokenIds.length + 1);
    const drafts = [lead];
    const draftStates: unknown[] = [roundState];
    while (drafts.length < budget) {
      const previous = drafts[drafts.length - 1]!;
      // The state before the next draft (an end-of-sequence lead never gets here: decide stopped).
      const state = guard ? guard.constraint.after(draftStates[draftStates.length - 1]!, previous) : 0;
      const publicLogits = publicAt[drafts.length]!;
      publicLogits.set(await publicBatch.append(previous));
      restrict(state);
      const token = timed(() => sampler.samplePublic(publicLogits));
      drafts.push(token);
      draftStates.push(state);
      if (input.eosTokenIds.has(token)) break;
    }
    // The public batch has consumed every draft but the last; one batched pass of the private rows
    // scores them all (an end-of-sequence draft needs no logits after it).
    const last = drafts[drafts.length - 1]!;
    const fed = input.eosTokenIds.has(last) ? drafts.slice(0, -1) : drafts;
    const base = batch?.length ?? 0;
    const scored = batch ? await batch.appendMany(fed) : null;
    const width = fed.length;
    let accepted = 1;
    for (let j = 1; j < drafts.length && stop === null; j += 1) {
      // Position j's logits (after drafts[0..j-1]): the private rows' from the scored pass, the public row's from drafting.
      if (scored) for (let r = 0; r < privateRows; r += 1) step.set(scored.subarray((r * width + j - 1) * vocabSize, (r * width + j) * vocabSize), r * vocabSize);
      stepPublic.set(publicAt[j]!);
      restrict(draftStates[j]!);
      if (timed(() => sampler.isPrivateStep(step, privateRows, stepPublic))) {
        const token = timed(() => sampler.samplePrivate(step, privateRows, stepPublic));
        // Cut the draft: keep drafts[0..j-1] in both caches, then add the private token.
        batch?.truncate(base + j);
        publicBatch.truncate(publicBatch.length - (drafts.length - 1 - j));
        if (decide(token, true)) await appendPrivate(token);
        draftLength = Math.max(2, j);
        accepted = -1;
        break;
      }
      if (!decide(drafts[j]!, false)) break;
      accepted += 1;
    }
    if (stop !== null || accepted < 0) continue;
    // Every draft accepted: the private rows' next logits are the last scored position; the public
    // batch catches up with the last draft.
    if (scored) for (let r = 0; r < privateRows; r += 1) step.set(scored.subarray((r * width + width - 1) * vocabSize, (r * width + width) * vocabSize), r * vocabSize);
    stepPublic.set(await publicBatch.append(last));
    draftLength = Math.min(input.maxDraftTokens, draftLength * 2);
  }
  const totalMs = performance.now() - started;
  const ortMs = (batch?.ortMs ?? 0) + publicBatch.ortMs;
  return {
    tokenIds,
    privateSteps,
    publicSteps,
    forcedSteps,
    stopReason: stop ?? 'max-new-tokens',
    endsInsideCharacter: guard?.endsInsideCharacter ?? false,
    stepTimings: {
      steps: privateSteps + publicSteps,
      prefillMs,
      decodeMs: totalMs - prefillMs,
      ortMs,
      mechanismMs,
      outsideOrtMs: totalMs - ortMs,
      totalMs,
      batchForwards: batch?.forwardCalls ?? publicBatch.forwardCalls,
    },
  };
}
