import { mechanismRegistry } from '@synthgate/privacy';

/**
 * The injection token of the worker's mechanism registry (libs/privacy `MechanismRegistry`):
 * production runs `mechanismRegistry`; a test passes its own to `startWorker` to run a release
 * with a mechanism of its own.
 */
export const MECHANISM_REGISTRY = Symbol('MECHANISM_REGISTRY');

export { mechanismRegistry as defaultMechanismRegistry };
