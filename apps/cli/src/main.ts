import { Command } from 'commander';
import { registerModelCommands } from './model.command';
import { registerPrivacyCommands } from './privacy.command';

/**
 * `synthgate`: the command line for operators and data owners. Each command group lives in its
 * own file and registers itself here.
 */
export function buildProgram(): Command {
  const program = new Command('synthgate')
    .description('Synthgate: differentially private synthetic releases of sensitive text datasets')
    .showHelpAfterError()
    .exitOverride();
  registerPrivacyCommands(program);
  registerModelCommands(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof Error && 'exitCode' in error && typeof error.exitCode === 'number') {
      process.exitCode = error.exitCode;
      return;
    }
    process.stderr.write(`synthgate: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}

// Run when executed directly or through bin/synthgate.js, including npx's `.bin/synthgate` symlink.
if (require.main === module || /synthgate(\.js)?$/.test(process.argv[1] ?? '')) {
  void main(process.argv);
}
