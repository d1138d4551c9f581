import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { CUDA_PROVIDER_LIBRARY, cudaProviderProblem, cudaUnavailableMessage, type RuntimeHost, thisRuntimeHost } from './execution-provider';

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

// In a child process, so that what ONNX Runtime writes to the process's stderr is seen too.
const ROOT = resolve(__dirname, '..', '..', '..', '..');
const MODEL = join(ROOT, 'models', 'default', 'model.onnx');
const withoutCuda = cudaProviderProblem(thisRuntimeHost()) !== null;
const itWithoutCuda = withoutCuda ? it : (console.log('skipped: the CUDA provider is installed'), it.skip);

function child(script: string): { stdout: string; stderr: string } {
  // The child compiles this library's TypeScript with @swc/core, as the build does, and resolves the
  // workspace aliases (tsconfig.json's paths) the way jest's moduleNameMapper does.
  const register = `const swc = require('@swc/core');
require.extensions['.ts'] = (m, f) => m._compile(swc.transformFileSync(f, { jsc: { parser: { syntax: 'typescript', decorators: true }, target: 'es2022' }, module: { type: 'commonjs' } }).code, f);
const Module = require('node:module');
const paths = require(${JSON.stringify(join(ROOT, 'tsconfig.json'))}).compilerOptions.paths;
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const target = paths[request];
  return resolveFilename.call(this, target ? require('node:path').join(${JSON.stringify(ROOT)}, target[0]) : request, ...rest);
};`;
  const run = spawnSync(process.execPath, ['-e', `${register}\n${script}`], { cwd: ROOT, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`child failed: ${run.stderr}`);
  return { stdout: run.stdout, stderr: run.stderr };
}

describe('a CUDA fallback, seen from the process', () => {
  itWithoutCuda('asking ONNX Runtime itself writes its own error lines to stderr (why the loader checks first)', () => {
    const { stderr } = child(`require('onnxruntime-node').InferenceSession.create(${JSON.stringify(MODEL)}, { executionProviders: ['cuda', 'cpu'] }).catch(() => undefined);`);
    expect(stderr).toMatch(/onnxruntime.*Failed to load library/);
  });

  itWithoutCuda('OnnxDecoder.load with cuda prints nothing; the one line is the caller\'s to log', () => {
    const { stdout, stderr } = child(
      `require(${JSON.stringify(join(__dirname, 'onnx-decoder.ts'))}).OnnxDecoder.load(${JSON.stringify(MODEL)}, { threads: 1, executionProvider: 'cuda' })` +
        `.then(async (d) => { process.stdout.write(JSON.stringify([d.executionProvider, d.providerFallback])); await d.release(); });`,
    );
    expect(stderr).toBe('');
    const [provider, fallback] = JSON.parse(stdout) as [string, string];
    expect(provider).toBe('cpu');
    expect(fallback).toBe(cudaUnavailableMessage(cudaProviderProblem()!));
  });
});
