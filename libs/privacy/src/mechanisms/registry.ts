import { type MechanismParametersBase, MechanismRegistry, type RegisteredMechanism } from './mechanism';
import { invisibleInk } from './invisible-ink/invisible-ink.mechanism';
import { nonPrivateReference } from './non-private-reference/non-private-reference.mechanism';
import { privatePrediction } from './private-prediction/private-prediction.mechanism';
import { publicOnly } from './public-only/public-only.mechanism';

/**
 * Every production mechanism, by name. A new mechanism is one folder beside these and one line
 * here; its parameters join {@link MechanismParameters} through this object.
 */
export const MECHANISMS = {
  'private-prediction': privatePrediction,
  'public-only': publicOnly,
  'non-private-reference': nonPrivateReference,
  'invisible-ink': invisibleInk,
} as const;

type ParametersOf<M> = M extends RegisteredMechanism<infer P extends MechanismParametersBase> ? P : never;

/** The parameters of any production mechanism, discriminated by `mechanism`: what a release stores. */
export type MechanismParameters = ParametersOf<(typeof MECHANISMS)[keyof typeof MECHANISMS]>;

/** The name of a production mechanism. */
export type MechanismName = MechanismParameters['mechanism'];

/** The production registry: the gateway prices with it; the worker runs with it unless given another. */
export const mechanismRegistry = new MechanismRegistry(Object.values(MECHANISMS));
