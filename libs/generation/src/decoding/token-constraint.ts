/**
 * A restriction of each decoding step to the tokens that can continue the output, computed from
 * public information alone: the model's tokenizer, public release metadata (a dataset's declared
 * record schema) and the tokens generated so far, which are the mechanism's public output. The
 * decoding loops apply `allowedIn(state)` to every row alike through libs/privacy's
 * `PrivateTokenSampler.restrictTo`, so it is post-processing of public information and costs no
 * privacy (libs/privacy/README.md, "Public restrictions of the output range").
 *
 * Two exist: UTF-8 validity (utf8-token-mask.ts) and a record schema (record-token-mask.ts).
 */
export interface TokenConstraint<S> {
  readonly initial: S;
  /** Flags (1 = may follow) over the vocabulary; shared and read-only. */
  allowedIn(state: S): Uint8Array;
  after(state: S, token: number): S;
  /** The output is whole: decoding stops here (a record after its closing brace). */
  isFinished(state: S): boolean;
  /**
   * The output may not stop here: after the private-token cap, public steps (which read no record)
   * finish it (a record not yet closed).
   */
  mustFinish(state: S): boolean;
  /** Stopping here cuts a UTF-8 character (its bytes are dropped from the text). */
  endsInsideCharacter(state: S): boolean;
  /**
   * Tokens every valid continuation starts with (a record's keys and punctuation between values):
   * the decoding loops write them without sampling, as free public steps. A function of the public
   * state alone, so writing them is post-processing too. Empty when the next token is a choice.
   */
  forcedTokens(state: S): readonly number[];
}

/** One example's position in a constraint: `allowed()` for the next step, `accept(token)` after it. */
export class ConstraintGuard<S> {
  state: S;

  constructor(readonly constraint: TokenConstraint<S>) {
    this.state = constraint.initial;
  }

  allowed(): Uint8Array {
    return this.constraint.allowedIn(this.state);
  }

  accept(token: number): void {
    this.state = this.constraint.after(this.state, token);
  }

  get finished(): boolean {
    return this.constraint.isFinished(this.state);
  }

  get mustFinish(): boolean {
    return this.constraint.mustFinish(this.state);
  }

  forced(): readonly number[] {
    return this.constraint.forcedTokens(this.state);
  }

  get endsInsideCharacter(): boolean {
    return this.constraint.endsInsideCharacter(this.state);
  }
}
