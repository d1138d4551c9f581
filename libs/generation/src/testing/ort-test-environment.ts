import NodeEnvironment from 'jest-environment-node';

/**
 * Jest environment for specs that run onnxruntime-node. Jest gives each test file its own
 * JavaScript realm, while the native binding creates its output arrays in the main realm, so
 * onnxruntime-common's `instanceof Float32Array` check fails on every output. Sharing the main
 * realm's typed-array constructors makes both sides agree. Use with the docblock
 * `@jest-environment ./libs/generation/src/testing/ort-test-environment.ts`.
 */
export default class OrtTestEnvironment extends NodeEnvironment {
  override async setup(): Promise<void> {
    await super.setup();
    const shared = {
      ArrayBuffer,
      SharedArrayBuffer,
      DataView,
      Float32Array,
      Float64Array,
      Int8Array,
      Int16Array,
      Int32Array,
      Uint8Array,
      Uint8ClampedArray,
      Uint16Array,
      Uint32Array,
      BigInt64Array,
      BigUint64Array,
    };
    Object.assign(this.global, shared);
  }
}
