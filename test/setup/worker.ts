import { loadConfig } from '@synthgate/config';
import { connectDatabase, loadLedgerKey } from '@synthgate/persistence';
import { type MechanismRegistry } from '@synthgate/privacy';
import { type RunningWorker, startWorker } from '../../apps/worker/src/worker';
import { type TestGateway } from './gateway';

/**
 * A worker in this test process, on the gateway's database. Test files that use it run in the
 * onnxruntime Jest environment (docblock `@jest-environment ./libs/generation/src/testing/ort-test-environment.ts`).
 * `mechanisms`: the registry it runs releases with (default libs/privacy's production one).
 */
export async function startTestWorker(
  gateway: TestGateway,
  env: Record<string, string> = {},
  mechanisms: MechanismRegistry | undefined = undefined,
): Promise<RunningWorker & { close(): Promise<void> }> {
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: gateway.databaseUrl,
    SYNTHGATE_DATA_DIR: gateway.dataDir,
    MODELS_DIR: gateway.config.models.dir,
    DEFAULT_MODEL: gateway.config.models.defaultModel,
    LOG_LEVEL: 'silent',
    WORKER_HEARTBEAT_SECONDS: '1',
    GENERATION_THREADS: '1',
    ...env,
  });
  const database = await connectDatabase({
    url: gateway.databaseUrl,
    ledgerKey: loadLedgerKey(config),
    poolSize: 4,
    applicationName: 'synthgate-test-worker',
    migrate: false,
    queue: 'work',
  });
  const worker = await startWorker(config, database, process.env.SYNTHGATE_TEST_WORKER_LOGS ? undefined : false, mechanisms);
  return {
    ...worker,
    close: async () => {
      await worker.stop();
      await database.close();
    },
  };
}

/** Polls a release until it leaves QUEUED/RUNNING, or fails the test after `timeoutMs`. */
export async function waitForRelease(gateway: TestGateway, token: string, id: string, timeoutMs = 60_000): Promise<{ status: string; failureReason: string | null }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { release } = await gateway.data<{ release: { status: string; failureReason: string | null } }>(token, 'query($id: ID!) { release(id: $id) { status failureReason } }', { id });
    if (release.status !== 'QUEUED' && release.status !== 'RUNNING') return release;
    if (Date.now() > deadline) throw new Error(`release ${id} still ${release.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
