import { PrivacyError } from '../privacy.errors';
import { type Rng } from '../rng';
import { type TokenSampler } from '../token-sampler';

/**
 * What every mechanism's parameters share: the discriminator, `s` and the cap `r` on private tokens
 * per example.
 */
export interface MechanismParametersBase {
  /** The registry key of the mechanism these parameters belong to. */
  readonly mechanism: string;
  /**
   * `s`, the expected batch size: a release over N records has `max(1, floor(N / s))` batches, and a
   * private mechanism divides its aggregate by `s`, never by a batch's actual row count.
   */
  readonly expectedBatchSize: number;
  /** `r`: the engine stops an example after this many private tokens (0 for a mechanism with none). */
  readonly privateTokenCap: number;
}

/**
 * How a release of the mechanism reads its dataset's records:
 * - `keyed-hash`: record r goes to batch `HMAC(key, r) mod B` (DESIGN.md section 5.1), so adding or
 *   removing one record changes exactly one batch: the partition every private mechanism needs;
 * - `even`: the records are dealt evenly (the non-private reference only: no guarantee to keep);
 * - `none`: no record is read (each example comes from the public prompt alone).
 */
export type RecordPartition = 'keyed-hash' | 'even' | 'none';

/**
 * One mechanism, as its folder in libs/privacy/src/mechanisms defines it. `P` is its parameters
 * type, stored once with a release; everything the gateway charges and the worker runs derives
 * from it through this definition, so what is charged is what is run.
 */
export interface MechanismDefinition<P extends MechanismParametersBase> {
  readonly name: P['mechanism'];
  /** Whether a release is debited (false only for a mechanism with no guarantee: nothing to pay for). */
  readonly charged: boolean;
  readonly partition: RecordPartition;
  /**
   * Validates parameters (from a request or read back from storage) into the mechanism's own
   * type: throws `PrivacyError` (`INVALID_PRIVACY_PARAMETER`) naming the field and the rule. Keeps
   * only the mechanism's fields, so the result is what is stored.
   */
  parse(value: Readonly<Record<string, unknown>>): P;
  /** rho-zCDP of one private token (0 when no token is private; Infinity when uncharged). */
  rhoPerPrivateToken(parameters: P): number;
  /** The per-example token sampler: one per synthetic example, all randomness from `rng`. */
  createSampler(parameters: P, vocabSize: number, rng: Rng): TokenSampler;
}

/** A mechanism in a registry: its definition behind parameters checked by its own `parse`. */
export interface RegisteredMechanism<P extends MechanismParametersBase = MechanismParametersBase> {
  readonly name: string;
  readonly charged: boolean;
  readonly partition: RecordPartition;
  /** The definition's `parse`, after checking that `value.mechanism` names this mechanism. */
  parse(value: object): P;
  rhoPerPrivateToken(parameters: MechanismParametersBase): number;
  createSampler(parameters: MechanismParametersBase, vocabSize: number, rng: Rng): TokenSampler;
}

/**
 * Registers a mechanism definition: every call validates its parameters with the definition's
 * own `parse` first, so a registry can hold mechanisms of different parameter types without casts.
 */
export function defineMechanism<P extends MechanismParametersBase>(definition: MechanismDefinition<P>): RegisteredMechanism<P> {
  const parse = (value: object): P => {
    const fields = asRecord(value);
    if (fields.mechanism !== definition.name) {
      throw new PrivacyError('INVALID_PRIVACY_PARAMETER', 'mechanism', `must be '${definition.name}', got ${JSON.stringify(fields.mechanism)}`);
    }
    return definition.parse(fields);
  };
  return Object.freeze({
    name: definition.name,
    charged: definition.charged,
    partition: definition.partition,
    parse,
    rhoPerPrivateToken: (parameters: MechanismParametersBase) => definition.rhoPerPrivateToken(parse(parameters)),
    createSampler: (parameters: MechanismParametersBase, vocabSize: number, rng: Rng) => definition.createSampler(parse(parameters), vocabSize, rng),
  });
}

function asRecord(value: object): Readonly<Record<string, unknown>> {
  return value as Readonly<Record<string, unknown>>;
}

/**
 * Mechanisms by name. The gateway prices a release and the worker runs it through the same entry;
 * the worker takes its registry by injection, so a test can run a release with a mechanism of its own.
 */
export class MechanismRegistry {
  private readonly entries: ReadonlyMap<string, RegisteredMechanism>;

  constructor(mechanisms: readonly RegisteredMechanism[]) {
    const entries = new Map<string, RegisteredMechanism>();
    for (const mechanism of mechanisms) {
      if (entries.has(mechanism.name)) throw new PrivacyError('INVALID_PRIVACY_PARAMETER', 'mechanism', `'${mechanism.name}' is registered twice`);
      entries.set(mechanism.name, mechanism);
    }
    this.entries = entries;
  }

  /** The registered names, in registration order. */
  get names(): readonly string[] {
    return [...this.entries.keys()];
  }

  /** The entry of `name`; `INVALID_PRIVACY_PARAMETER` on `mechanism` when none is registered. */
  get(name: string): RegisteredMechanism {
    const entry = this.entries.get(name);
    if (!entry) throw new PrivacyError('INVALID_PRIVACY_PARAMETER', 'mechanism', `must be one of ${this.names.join(', ')}, got ${JSON.stringify(name)}`);
    return entry;
  }

  /** The entry of the parameters' mechanism (see {@link get}). */
  of(parameters: MechanismParametersBase): RegisteredMechanism {
    return this.get(parameters.mechanism);
  }

  /** Checks parameters with their mechanism's `parse` (`INVALID_PRIVACY_PARAMETER` naming the field). */
  parse(parameters: MechanismParametersBase): MechanismParametersBase {
    return this.of(parameters).parse(parameters);
  }

  /** A new registry with these mechanisms added (a test adds a toy one this way). */
  with(...mechanisms: readonly RegisteredMechanism[]): MechanismRegistry {
    return new MechanismRegistry([...this.entries.values(), ...mechanisms]);
  }
}
