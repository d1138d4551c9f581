import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The CUDA execution provider library onnxruntime-node 1.30 loads from beside its binding. The npm
 * package does not ship it: its install script downloads it from NuGet
 * (`Microsoft.ML.OnnxRuntime.Gpu.Linux` 1.30.0, `runtimes/linux-x64/native/`), and this project's
 * `.npmrc` skips that download (docs/gpu.md says how to run it).
 */
export const CUDA_PROVIDER_LIBRARY = 'libonnxruntime_providers_cuda.so';

/** What {@link cudaProviderProblem} looks at; tests pass their own. */
export interface RuntimeHost {
  readonly platform: string;
  readonly arch: string;
  /** The folder holding `onnxruntime_binding.node` for this platform. */
  readonly bindingDir: string;
  readonly exists: (path: string) => boolean;
}

/** This process's platform and the installed onnxruntime-node's binding folder. */
export function thisRuntimeHost(): RuntimeHost {
  const packageDir = dirname(require.resolve('onnxruntime-node/package.json'));
  return {
    platform: process.platform,
    arch: process.arch,
    bindingDir: join(packageDir, 'bin', 'napi-v6', process.platform, process.arch),
    exists: existsSync,
  };
}

/**
 * Why the CUDA execution provider cannot be used here, found without asking ONNX Runtime, or null
 * when its library is installed (CUDA 12, cuDNN 9 and a device may still be missing: then ONNX
 * Runtime itself refuses the session, see {@link OnnxDecoder.load}). Asking ONNX Runtime for a
 * provider whose library is absent makes it print its own error lines on stderr before it fails;
 * checking first keeps the fallback to the one line the caller logs.
 */
export function cudaProviderProblem(host: RuntimeHost = thisRuntimeHost()): string | null {
  if (host.platform !== 'linux' || host.arch !== 'x64') {
    return `onnxruntime-node ships the CUDA execution provider for linux/x64 only, this is ${host.platform}/${host.arch}`;
  }
  const library = join(host.bindingDir, CUDA_PROVIDER_LIBRARY);
  if (!host.exists(library)) {
    return `onnxruntime-node's CUDA binaries are not installed (${library} is missing; install them as docs/gpu.md says: ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js)`;
  }
  return null;
}

/** The one line an operator reads when `cuda` was asked for and the model runs on the CPU. */
export function cudaUnavailableMessage(reason: string): string {
  return `CUDA execution provider not available: ${reason}`;
}
