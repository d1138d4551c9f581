import { PrivacyError } from './privacy.errors';
import { type LogitBuffer, selectTopK } from './token-mechanism';

/**
 * The tokens a step may draw: the public top-k and/or a public restriction (`restrictTo`), shared
 * by the samplers of every mechanism. Both come from public data only (the public row's logits,
 * the release's parameters, the tokens generated so far), so narrowing the output range with them
 * is post-processing and costs no privacy (DESIGN.md section 5.8). Allocation-free after the first
 * restricted step.
 */
export class TokenCandidates {
  /** The candidate list of the current step (indexed by position); null: every token. */
  list: Int32Array | null;
  /** How many entries of {@link list} are in use (vocabSize when `list` is null). */
  count: number;
  private readonly topK: number;
  private readonly topKBuffer: Int32Array | null;
  private allowed: Uint8Array | null = null;
  private allowedBuffer: Int32Array | null = null;

  /** `topK` 0 or >= vocabSize: off. */
  constructor(
    readonly vocabSize: number,
    topK: number,
  ) {
    this.topK = topK > 0 && topK < vocabSize ? topK : 0;
    this.topKBuffer = this.topK > 0 ? new Int32Array(this.topK) : null;
    this.list = this.topKBuffer;
    this.count = vocabSize;
  }

  /** See `TokenSampler.restrictTo`. */
  restrictTo(allowed: Uint8Array | null): void {
    if (allowed !== null && allowed.length < this.vocabSize) {
      throw new PrivacyError('INVALID_LOGITS', 'allowed', `must hold vocabSize = ${this.vocabSize} flags, got ${allowed.length}`);
    }
    this.allowed = allowed !== null && allowed.subarray(0, this.vocabSize).some((flag) => flag !== 0) ? allowed : null;
  }

  /** Computes the step's candidates from the public row: the top-k among the allowed tokens. */
  prepare(publicLogits: LogitBuffer): void {
    const allowed = this.allowed;
    if (allowed === null) {
      if (this.topKBuffer !== null) this.count = selectTopK(publicLogits, this.vocabSize, this.topK, this.topKBuffer);
      this.list = this.topKBuffer;
      return;
    }
    const list = (this.allowedBuffer ??= new Int32Array(this.vocabSize));
    let n = 0;
    for (let j = 0; j < this.vocabSize; j++) if (allowed[j] !== 0) list[n++] = j;
    if (this.topKBuffer !== null && this.topK < n) {
      this.count = selectTopK(publicLogits, this.vocabSize, this.topK, this.topKBuffer, list, n);
      this.list = this.topKBuffer;
    } else {
      this.count = n;
      this.list = list;
    }
  }

  /** The token id at a candidate position. */
  tokenAt(position: number): number {
    return this.list === null ? position : this.list[position]!;
  }
}

/** Refuses logits that do not match the vocabulary and row count (`INVALID_LOGITS`, naming the field). */
export function checkStepInputs(vocabSize: number, logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer): void {
  if (!Number.isSafeInteger(privateRows) || privateRows < 0) {
    throw new PrivacyError('INVALID_LOGITS', 'privateRows', `must be an integer >= 0, got ${privateRows}`);
  }
  if (logits.length < privateRows * vocabSize) {
    throw new PrivacyError('INVALID_LOGITS', 'logits', `must hold privateRows * vocabSize = ${privateRows * vocabSize} values, got ${logits.length}`);
  }
  checkPublicInput(vocabSize, publicLogits);
}

/** Refuses a public row shorter than the vocabulary. */
export function checkPublicInput(vocabSize: number, publicLogits: LogitBuffer): void {
  if (publicLogits.length < vocabSize) {
    throw new PrivacyError('INVALID_LOGITS', 'publicLogits', `must hold vocabSize = ${vocabSize} values, got ${publicLogits.length}`);
  }
}
