import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ExecutionProvider, OnnxDecoder } from './onnx-decoder';

/** Where a model's graph actually ran, as {@link probeExecutionProvider} found it. */
export interface ProviderReport {
  readonly requested: ExecutionProvider;
  /** The provider the session was opened with (`cpu` after a fallback). */
  readonly provider: ExecutionProvider;
  /** Why `cuda` was asked for and the session runs on the CPU (one line); null otherwise. */
  readonly fallback: string | null;
  /**
   * Kernels of one forward pass per ONNX Runtime execution provider, from ONNX Runtime's own
   * profile (`CUDAExecutionProvider`, `CPUExecutionProvider`): a CUDA session still runs the
   * nodes CUDA has no kernel for on the CPU, and this is where that shows.
   */
  readonly kernels: Readonly<Record<string, number>>;
}

/** Counts `*_kernel_time` events of an ONNX Runtime profile by their `provider`. */
export function kernelsByProvider(profileJson: string): Record<string, number> {
  const events = JSON.parse(profileJson) as { cat?: string; name?: string; args?: { provider?: string } }[];
  const counts: Record<string, number> = {};
  for (const event of events) {
    if (event.cat !== 'Node' || !event.name?.endsWith('_kernel_time')) continue;
    const provider = event.args?.provider ?? 'unknown';
    counts[provider] = (counts[provider] ?? 0) + 1;
  }
  return counts;
}

/**
 * Opens the decoder at `modelPath` as the engine would with `executionProvider` (falling back to
 * the CPU when CUDA cannot be opened), runs one forward pass of one token through it with
 * ONNX Runtime's profiler on, and reports which provider ran each kernel. For operators checking
 * an installation (`synthgate model provider`); never on sensitive data (the token is id 0).
 */
export async function probeExecutionProvider(modelPath: string, options: { executionProvider: ExecutionProvider; threads: number }): Promise<ProviderReport> {
  const dir = mkdtempSync(join(tmpdir(), 'synthgate-provider-'));
  try {
    const decoder = await OnnxDecoder.load(modelPath, { threads: options.threads, executionProvider: options.executionProvider, profileFilePrefix: join(dir, 'probe') });
    try {
      await decoder.forward({
        rows: 1,
        newTokens: 1,
        inputIds: BigInt64Array.of(0n),
        attentionMask: BigInt64Array.of(1n),
        positionIds: BigInt64Array.of(0n),
        past: null,
        keep: 1,
        fetchCache: false,
      });
      decoder.endProfiling();
    } finally {
      await decoder.release();
    }
    const profile = readdirSync(dir).find((file) => file.endsWith('.json'));
    return {
      requested: options.executionProvider,
      provider: decoder.executionProvider,
      fallback: decoder.providerFallback,
      kernels: profile ? kernelsByProvider(readFileSync(join(dir, profile), 'utf8')) : {},
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
