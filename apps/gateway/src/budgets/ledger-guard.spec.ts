import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { type LedgerHeadEntity, ledgerHeadMac, type Repositories } from '@synthgate/persistence';
import { type GatewayMetrics } from '../metrics/gateway-metrics';
import { LedgerGuard } from './ledger-guard';

const DATASET = '00000000-0000-4000-8000-000000000001';
const key = randomBytes(32);

/** Repositories that answer an empty ledger whose anchor says it held three entries (a deleted ledger), until `healed`. */
function repositories(state: { healed: boolean }): Repositories {
  const fields = { datasetId: DATASET, sequence: 3, hash: 'f'.repeat(64), totalRho: 0.3 };
  const anchor: LedgerHeadEntity = { ...fields, mac: ledgerHeadMac(fields, key), updatedAt: new Date() };
  return {
    ledger: { evidence: async () => ({ entries: [], anchor: state.healed ? null : anchor, key }) },
    releases: { ledgerViews: async () => [] },
  } as unknown as Repositories;
}

describe('LedgerGuard', () => {
  it('alerts once per broken ledger (one error line, the gauge), refuses admission, and clears when it verifies again', async () => {
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const gauge: number[] = [];
    const guard = new LedgerGuard({ setLedgersInvalid: (count: number) => gauge.push(count) } as unknown as GatewayMetrics);
    const state = { healed: false };
    const dataset = { id: DATASET, budgetDelta: 1e-6 };
    for (let i = 0; i < 3; i++) {
      await expect(guard.requireValid(repositories(state), dataset)).rejects.toMatchObject({ code: 'LEDGER_INVALID', message: expect.stringMatching(/entries were deleted/) });
    }
    expect(errors).toHaveBeenCalledTimes(1);
    expect(errors.mock.calls[0]![0]).toMatch(/^LEDGER_INVALID: the budget ledger of dataset 0{8}-0{4}-4000-8000-0{11}1 does not verify at entry 3/);
    expect(gauge).toEqual([1, 1, 1]);
    state.healed = true;
    await expect(guard.requireValid(repositories(state), dataset)).resolves.toMatchObject({ ok: true });
    expect(gauge.at(-1)).toBe(0);
    jest.restoreAllMocks();
  });
});
