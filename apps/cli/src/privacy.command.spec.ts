import { Command, CommanderError } from 'commander';
import { registerPrivacyCommands } from './privacy.command';

const DESIGN_FLAGS = ['--delta', '1/120000', '--expected-batch-size', '255', '--clip', '10', '--temperature', '2', '--svt-sigma', '0.2'];

/** Runs `synthgate <args>` in process; returns stdout, stderr and the exit code commander chose. */
function run(args: string[]): { out: string; err: string; exitCode: number } {
  let out = '';
  let err = '';
  const program = new Command('synthgate')
    .exitOverride()
    .configureOutput({ writeOut: (text) => void (out += text), writeErr: (text) => void (err += text) });
  registerPrivacyCommands(program, { writeOut: (text) => void (out += text) });
  try {
    program.parse(args, { from: 'user' });
    return { out, err, exitCode: 0 };
  } catch (error) {
    if (error instanceof CommanderError) return { out, err, exitCode: error.exitCode };
    throw error;
  }
}

function json(args: string[]): Record<string, unknown> {
  const result = run([...args, '--json']);
  expect(result.exitCode).toBe(0);
  expect(result.out.trim().split('\n')).toHaveLength(1);
  return JSON.parse(result.out) as Record<string, unknown>;
}

describe('synthgate privacy plan', () => {
  it('finds r = 229 (tight) and r = 177 (closed) for the DESIGN.md numbers', () => {
    const tight = json(['privacy', 'plan', '--epsilon', '3', ...DESIGN_FLAGS]);
    expect(tight).toMatchObject({ privateTokens: 229, conversion: 'tight', delta: 1 / 120000, targetEpsilon: 3 });
    expect(tight.rho).toBeCloseTo(229 * 9.611688e-4, 8);
    expect(tight.epsilon as number).toBeLessThanOrEqual(3);
    const closed = json(['privacy', 'plan', '--epsilon', '3', ...DESIGN_FLAGS, '--conversion', 'closed']);
    expect(closed).toMatchObject({ privateTokens: 177, conversion: 'closed' });
    expect(closed.epsilon as number).toBeLessThanOrEqual(3);
  });

  it('plans against the remaining budget with --spent-rho', () => {
    const result = json(['privacy', 'plan', '--epsilon', '3', ...DESIGN_FLAGS, '--spent-rho', '0.1']);
    expect(result.privateTokens as number).toBeLessThan(229);
    expect(result.totalEpsilon as number).toBeLessThanOrEqual(3);
    expect(result.totalRho).toBeCloseTo(0.1 + (result.rho as number), 15);
  });

  it('prints a readable summary without --json', () => {
    const { out, exitCode } = run(['privacy', 'plan', '--epsilon', '3', ...DESIGN_FLAGS]);
    expect(exitCode).toBe(0);
    expect(out).toMatch(/^private tokens \(r\)\s+229$/m);
    expect(out).toMatch(/^epsilon \(tight\)\s+2\.99\d+$/m);
  });
});

describe('synthgate privacy cost', () => {
  it('is the inverse of plan', () => {
    const cost = json(['privacy', 'cost', '--private-tokens', '229', ...DESIGN_FLAGS, '--epsilon', '3']);
    expect(cost).toMatchObject({ privateTokens: 229, withinBudget: true, conversion: 'tight' });
    const plan = json(['privacy', 'plan', '--epsilon', String(cost.epsilon), ...DESIGN_FLAGS]);
    expect(plan.privateTokens).toBe(229);
    expect(json(['privacy', 'cost', '--private-tokens', '230', ...DESIGN_FLAGS, '--epsilon', '3']).withinBudget).toBe(false);
  });

  it('without --svt-sigma charges only the exponential mechanism', () => {
    const cost = json(['privacy', 'cost', '--private-tokens', '1', '--delta', '1e-6', '--expected-batch-size', '255', '--clip', '10', '--temperature', '2']);
    expect(cost.rho).toBeCloseTo(100 / (2 * 255 ** 2 * 4), 17);
    expect((cost.parameters as Record<string, unknown>).svtSigma).toBeNull();
  });
});

describe('bad flags exit non-zero with a message naming the flag', () => {
  const plan = (overrides: Record<string, string>): string[] => {
    const flags: Record<string, string> = { '--epsilon': '3', '--delta': '1e-6', '--expected-batch-size': '255', '--clip': '10', '--temperature': '2', ...overrides };
    return ['privacy', 'plan', ...Object.entries(flags).flat()];
  };
  it.each([
    ['--epsilon', '0'],
    ['--epsilon', '-1'],
    ['--delta', '0'],
    ['--delta', '1'],
    ['--delta', '2'],
    ['--delta', 'abc'],
    ['--delta', ''],
    ['--expected-batch-size', '0.5'],
    ['--clip', '0'],
    ['--temperature', '-2'],
    ['--svt-sigma', '0'],
    ['--spent-rho', '-0.1'],
    ['--conversion', 'loose'],
  ])('%s %s', (flag, value) => {
    const { err, exitCode } = run(plan({ [flag]: value }));
    expect(exitCode).not.toBe(0);
    expect(err).toContain(flag);
  });

  it.each([['2.5'], ['-1'], ['1e400']])('--private-tokens %s', (value) => {
    const { err, exitCode } = run(['privacy', 'cost', '--private-tokens', value, '--delta', '1e-6', '--expected-batch-size', '10', '--clip', '1', '--temperature', '1']);
    expect(exitCode).not.toBe(0);
    expect(err).toContain('--private-tokens');
  });

  it('a missing required flag is named', () => {
    const { err, exitCode } = run(['privacy', 'plan', '--epsilon', '3', '--expected-batch-size', '255', '--clip', '10', '--temperature', '2']);
    expect(exitCode).not.toBe(0);
    expect(err).toContain('--delta');
  });
});
