/**
 * Stable codes of the generation library's failures. Callers (CLI, worker, gateway) map them to
 * user-facing errors; the message always names the field, file or tensor at fault.
 */
export type GenerationErrorCode =
  /** A model folder, source file or tensor is missing. */
  | 'MODEL_FILE_MISSING'
  /** The model's files or graph do not follow the model contract (DESIGN.md section 6). */
  | 'MODEL_CONTRACT_VIOLATION'
  /** A file on disk no longer matches the sha256 recorded in the folder's manifest. */
  | 'MODEL_HASH_MISMATCH'
  /** An importer met an architecture, tensor type or format version it does not support. */
  | 'UNSUPPORTED_MODEL'
  /** A malformed source file (truncated GGUF, bad safetensors header, invalid JSON). */
  | 'MODEL_FORMAT_INVALID'
  /** A caller passed an invalid argument (empty prompt, non-positive cap, unknown mode). */
  | 'INVALID_GENERATION_INPUT'
  /** The KV cache of the requested batch would exceed the configured memory limit. */
  | 'KV_CACHE_LIMIT_EXCEEDED'
  /** The sequence would run past the model's context window. */
  | 'CONTEXT_LENGTH_EXCEEDED'
  /** The destination of an import exists already. */
  | 'MODEL_EXISTS'
  /** The configured execution provider (e.g. cuda) cannot run here. */
  | 'EXECUTION_PROVIDER_UNAVAILABLE'
  /** A chat template must be rendered but the Jinja package (@huggingface/jinja) is not installed. */
  | 'CHAT_TEMPLATE_UNAVAILABLE';

/** The one error class of libs/generation; `code` is stable and machine-readable. */
export class GenerationError extends Error {
  constructor(
    readonly code: GenerationErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'GenerationError';
  }
}
