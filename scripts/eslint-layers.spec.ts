import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The dependency rules of DESIGN.md are lint errors (eslint.config.mjs, `dependencyRules`). Each
 * fixture is a source placed at a virtual path in the repository and linted with the real config;
 * the test names the lines that must fail and expects every other line to pass.
 */
interface Fixture {
  readonly filePath: string;
  /** One import per line. */
  readonly lines: readonly string[];
  /** 1-based lines that break a rule, with a word the message must contain. */
  readonly refused: Readonly<Record<number, string>>;
}

const fixtures: Fixture[] = [
  {
    filePath: 'apps/gateway/src/datasets/fixture.ts',
    lines: [
      "import { ReleaseBatchProcessor } from '../../../worker/src/release-batch.processor';",
      "import { main } from 'apps/cli/src/main';",
      "export { something } from '../../../../apps/worker/src/main';",
      "import { Repository } from 'typeorm';",
      "import { TypeOrmModule } from '@nestjs/typeorm';",
      "import type { InferenceSession } from 'onnxruntime-node';",
      "import { Tensor } from 'onnxruntime-common';",
      "import { Database } from '@synthgate/persistence';",
      "import { GenerationError } from '@synthgate/generation';",
      "import { DomainError } from '../gateway.errors';",
      "import { AuditService } from '../audit/audit.service';",
    ],
    refused: { 1: 'Apps never import each other', 2: 'Apps never import each other', 3: 'Apps never import each other', 4: 'TypeORM', 5: 'TypeORM', 6: 'onnxruntime', 7: 'onnxruntime' },
  },
  {
    filePath: 'apps/worker/src/fixture.ts',
    lines: ["import { app } from '../../gateway/src/app';", "import { demo } from '../../cli/src/demo';", "import { ReleaseContext } from './release-context';", "import { JobQueue } from '@synthgate/persistence';"],
    refused: { 1: 'Apps never import each other', 2: 'Apps never import each other' },
  },
  {
    filePath: 'apps/cli/src/fixture.ts',
    lines: ["import { GatewayModule } from '../../gateway/src/gateway.module';", "import { GatewayError } from './gateway-client';"],
    refused: { 1: 'Apps never import each other' },
  },
  {
    filePath: 'libs/config/src/fixture.ts',
    lines: ["import { DomainError } from '../../../apps/gateway/src/gateway.errors';", "import { Repository } from 'typeorm';", "import { ConfigError } from './config.errors';", "import { z } from 'zod';"],
    refused: { 1: 'Libs never import apps', 2: 'TypeORM' },
  },
  {
    filePath: 'libs/privacy/src/fixture.ts',
    lines: [
      "import { createHash } from 'node:crypto';",
      "import { readFileSync } from 'node:fs';",
      "import type { RecordSchema } from '@synthgate/records';",
      "import { RecordSchemaShape } from '../../records/src/record-schema';",
      "import { something } from 'some-package';",
      "import { accountant } from './accountant';",
      "import { Actor } from '../../../apps/gateway/src/fixture';",
    ],
    refused: { 2: 'node:crypto', 3: 'nothing of ours', 4: 'public face', 5: 'node:crypto', 7: 'Libs never import apps' },
  },
  {
    filePath: 'libs/privacy/src/a-mechanism/fixture.ts',
    lines: ["import { requirePositive } from '../privacy.errors';", "import { randomInt } from 'node:crypto';", "import { Logger } from '@synthgate/logging';"],
    refused: { 3: 'nothing of ours' },
  },
  {
    filePath: 'libs/privacy/src/fixture.spec.ts',
    lines: ["import { readFileSync } from 'node:fs';", "import { Database } from '@synthgate/persistence';"],
    refused: { 2: 'nothing of ours' },
  },
  {
    filePath: 'libs/records/src/fixture.ts',
    lines: ["import { PrivacyError } from '@synthgate/privacy';", "import { FieldSpec } from './record-schema';", "import { GenerationError } from '../../generation/src/generation.errors';"],
    refused: { 1: 'nothing of ours', 3: 'public face' },
  },
  {
    filePath: 'libs/generation/src/decoding/fixture.ts',
    lines: [
      "import { Database } from '@synthgate/persistence';",
      "import { Client } from 'pg';",
      "import { Repository } from 'typeorm';",
      "import * as ort from 'onnxruntime-node';",
      "import { PrivateTokenSampler } from '@synthgate/privacy';",
      "import { GenerationError } from '../generation.errors';",
      "import { ReleaseEntity } from '../../../persistence/src/releases/release.entity';",
    ],
    refused: { 1: 'no persistence', 2: 'no persistence', 3: 'TypeORM', 7: 'public face' },
  },
  {
    filePath: 'libs/persistence/src/fixture.ts',
    lines: ["import { Repository } from 'typeorm';", "import { Tensor } from 'onnxruntime-common';", "import { refundableRho } from '@synthgate/privacy';", "import { ReleaseService } from '../../../apps/gateway/src/releases/release.service';"],
    refused: { 2: 'onnxruntime', 4: 'Libs never import apps' },
  },
  {
    filePath: 'libs/quality/src/fixture.ts',
    lines: ["import { Tensor } from 'onnxruntime-node';", "import { Classifier } from '@synthgate/text-classifier';"],
    refused: { 1: 'onnxruntime' },
  },
  {
    filePath: 'migrations/1700000000000-Fixture.ts',
    lines: ["import { type MigrationInterface, type QueryRunner } from 'typeorm';"],
    refused: {},
  },
  {
    filePath: 'test/fixture.e2e-spec.ts',
    lines: ["import { DataSource } from 'typeorm';", "import { startEmbeddedPostgres } from '@synthgate/persistence';"],
    refused: { 1: 'TypeORM' },
  },
];

interface LintResult {
  readonly filePath: string;
  readonly messages: readonly { readonly line: number; readonly rule: string | null; readonly message: string; readonly fatal: boolean }[];
}

function lint(sources: readonly { filePath: string; code: string }[]): LintResult[] {
  const root = join(__dirname, '..');
  const output = execFileSync(process.execPath, [join(__dirname, 'lint-text.mjs')], { cwd: root, input: JSON.stringify(sources), encoding: 'utf8', timeout: 120_000 });
  return JSON.parse(output) as LintResult[];
}

describe('the dependency rules fail lint', () => {
  let results: LintResult[];

  beforeAll(() => {
    results = lint(fixtures.map((fixture) => ({ filePath: fixture.filePath, code: `${fixture.lines.join('\n')}\n` })));
  }, 120_000);

  it.each(fixtures.map((fixture, index) => [fixture.filePath, index] as const))('%s: exactly the refused imports are errors', (_path, index) => {
    const fixture = fixtures[index]!;
    const { messages } = results[index]!;
    expect(messages.filter((message) => message.fatal)).toEqual([]);
    const refusedLines = Object.keys(fixture.refused).map(Number);
    expect([...new Set(messages.map((message) => message.line))].sort((a, b) => a - b)).toEqual(refusedLines);
    for (const message of messages) {
      expect(message.rule).toBe('@typescript-eslint/no-restricted-imports');
      expect(message.message).toContain(fixture.refused[message.line]);
    }
  });
});
