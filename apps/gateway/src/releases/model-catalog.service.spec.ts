/**
 * The gateway reads model folders through @synthgate/generation/catalog and must not load
 * onnxruntime-node (a native runtime of several hundred MB) to do so (issue 14).
 */
describe('ModelCatalogService', () => {
  afterEach(() => jest.resetModules());

  it('loads no onnxruntime-node, nor does the gateway module', () => {
    for (const path of ['./model-catalog.service', '../gateway.module']) {
      jest.isolateModules(() => {
        jest.doMock('onnxruntime-node', () => {
          throw new Error(`onnxruntime-node was loaded by ${path}`);
        });
        expect(jest.requireActual(path)).toBeDefined();
      });
    }
  });

  it('would notice: requiring the worker engine loads it', () => {
    jest.isolateModules(() => {
      jest.doMock('onnxruntime-node', () => {
        throw new Error('onnxruntime-node was loaded');
      });
      expect(() => jest.requireActual('@synthgate/generation')).toThrow('onnxruntime-node was loaded');
    });
  });
});
