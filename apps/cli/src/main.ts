import { Command } from 'commander';
import { registerDatasetCommands } from './dataset.command';
import { GatewayError } from './gateway-client';
import { registerIdentityCommands } from './identity.command';
import { registerModelCommands } from './model.command';
import { registerPrivacyCommands } from './privacy.command';
import { registerReleaseCommands } from './release.command';

/**
 * `synthgate`: the command line for operators and data owners. Each command group lives in its
 * own file and registers itself here.
 */
export function buildProgram(): Command {
  const program = new Command('synthgate')
    .description('Synthgate: differentially private synthetic releases of sensitive text datasets')
    .showHelpAfterError()
    .exitOverride();
  registerIdentityCommands(program);
  registerDatasetCommands(program);
  registerReleaseCommands(program);
  registerPrivacyCommands(program);
  registerModelCommands(program);
  return program;
}

/** Runs the CLI on `argv` (node, script, args...); returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof Error && 'exitCode' in error && typeof error.exitCode === 'number') return error.exitCode;
    const code = error instanceof GatewayError ? ` [${error.code}]` : '';
    process.stderr.write(`synthgate: ${error instanceof Error ? error.message : String(error)}${code}\n`);
    if (error instanceof GatewayError && Array.isArray(error.details.problems)) {
      for (const problem of error.details.problems as { line?: number; rule: string }[]) {
        process.stderr.write(`  ${problem.line !== undefined ? `line ${problem.line}: ` : ''}${problem.rule}\n`);
      }
    }
    return 1;
  }
  return 0;
}

// Run when executed directly or through bin/synthgate.js, including npx's `.bin/synthgate` symlink.
if (require.main === module || /synthgate(\.js)?$/.test(process.argv[1] ?? '')) {
  void runCli(process.argv).then((code) => {
    process.exitCode = code;
  });
}
