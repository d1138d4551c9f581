import { type Command } from 'commander';

/** `synthgate privacy plan|cost`: filled in by the libs/privacy work (issue 3). */
export function registerPrivacyCommands(program: Command): void {
  program.command('privacy').description('plan and cost differentially private releases');
}
