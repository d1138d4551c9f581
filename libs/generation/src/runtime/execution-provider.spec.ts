import { join } from 'node:path';
import { CUDA_PROVIDER_LIBRARY, cudaProviderProblem, cudaUnavailableMessage, type RuntimeHost } from './execution-provider';

const bindingDir = join('node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64');
const host = (overrides: Partial<RuntimeHost>): RuntimeHost => ({ platform: 'linux', arch: 'x64', bindingDir, exists: () => false, ...overrides });

describe('cudaProviderProblem', () => {
  it('names the missing provider library and the install command on linux/x64 without the CUDA binaries', () => {
    const problem = cudaProviderProblem(host({}));
    expect(problem).toBe(
      `onnxruntime-node's CUDA binaries are not installed (${join(bindingDir, CUDA_PROVIDER_LIBRARY)} is missing; install them as docs/gpu.md says: ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js)`,
    );
  });

  it('leaves the decision to ONNX Runtime once the library is installed (CUDA 12, cuDNN 9 or a device may still be missing)', () => {
    const seen: string[] = [];
    expect(cudaProviderProblem(host({ exists: (path) => (seen.push(path), true) }))).toBeNull();
    expect(seen).toEqual([join(bindingDir, 'libonnxruntime_providers_cuda.so')]);
  });

  it.each([
    ['darwin', 'arm64'],
    ['win32', 'x64'],
    ['linux', 'arm64'],
  ])('refuses %s/%s, for which onnxruntime-node ships no CUDA provider', (platform, arch) => {
    expect(cudaProviderProblem(host({ platform, arch, exists: () => true }))).toBe(`onnxruntime-node ships the CUDA execution provider for linux/x64 only, this is ${platform}/${arch}`);
  });

  it('the operator reads one line that says what is unavailable and why', () => {
    const line = cudaUnavailableMessage(cudaProviderProblem(host({}))!);
    expect(line.startsWith('CUDA execution provider not available: ')).toBe(true);
    expect(line).not.toContain('\n');
  });
});
