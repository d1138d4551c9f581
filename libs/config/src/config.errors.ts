/** Thrown when the environment holds invalid configuration; lists every bad key at once. */
export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG' as const;

  constructor(readonly problems: readonly { key: string; message: string }[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p.key}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}
