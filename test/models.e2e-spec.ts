import { join } from 'node:path';
import { kvCacheBytes, readModelCard } from '@synthgate/generation';
import { createDataset, createOrganization, importRecords, type TestOrganization } from './setup/factories';
import { startTestGateway, type TestGateway } from './setup/gateway';
import { createTestModelsDir } from './setup/models';

function csv(count: number): string {
  return `text,label\n${Array.from({ length: count }, (_, i) => `record ${i},${i % 2 ? 'odd' : 'even'}`).join('\n')}\n`;
}

describe('model catalogue and the worker memory fit', () => {
  const modelsDir = createTestModelsDir();
  const card = readModelCard(join(modelsDir, 'tiny'), 'tiny');
  // Room for the weights and one batch of 3 rows x 100 positions (both buffers): a small release
  // fits, a large one does not.
  const limit = card.weightMemoryBytes + 2 * kvCacheBytes(card.shape, 3, 100);
  let gateway: TestGateway;
  let acme: TestOrganization;
  let datasetId: string;

  beforeAll(async () => {
    gateway = await startTestGateway({ MODELS_DIR: modelsDir, DEFAULT_MODEL: 'tiny', GENERATION_MEMORY_LIMIT_BYTES: String(limit) });
    acme = await createOrganization(gateway);
    datasetId = (await createDataset(gateway, acme.users.DATA_OWNER, { epsilon: 50, delta: 1e-6, labels: ['even', 'odd'] })).id;
    await importRecords(gateway, acme.users.DATA_OWNER.token, datasetId, csv(100));
  });
  afterAll(() => gateway.close());

  const catalogue = `query { models { name isDefault architecture parameters weightStorage sourceQuantization sourceKind sourceFile contextLength chatTemplate diskBytes weightMemoryBytes
    small: memory(expectedBatchSize: 2, maxTokens: 8, promptTokens: 20) { weightBytes kvCacheBytesPerBatch concurrentBatches totalBytes limitBytes fits refusal }
    large: memory(expectedBatchSize: 40, maxTokens: 200) { totalBytes fits refusal } } }`;

  it('lists each model with its architecture, size, storage, context, template and memory', async () => {
    const result = await gateway.gql<{ models: Record<string, unknown>[] }>(acme.users.DATA_OWNER.token, catalogue);
    expect(result.errors).toBeUndefined();
    expect(result.data!.models).toEqual([
      {
        name: 'tiny',
        isDefault: true,
        architecture: 'LlamaForCausalLM',
        parameters: card.parameters,
        weightStorage: 'fp32',
        sourceQuantization: null,
        sourceKind: 'gguf',
        sourceFile: 'tiny.gguf',
        contextLength: 512,
        chatTemplate: false,
        diskBytes: card.diskBytes,
        weightMemoryBytes: card.weightMemoryBytes,
        small: {
          weightBytes: card.weightMemoryBytes,
          kvCacheBytesPerBatch: 2 * kvCacheBytes(card.shape, 3, 28),
          concurrentBatches: 1,
          totalBytes: card.weightMemoryBytes + 2 * kvCacheBytes(card.shape, 3, 28),
          limitBytes: limit,
          fits: true,
          refusal: null,
        },
        large: { totalBytes: card.weightMemoryBytes + 2 * kvCacheBytes(card.shape, 41, 264), fits: false, refusal: expect.stringContaining('above GENERATION_MEMORY_LIMIT_BYTES') },
      },
    ]);
  });

  it('is for those who plan releases, and names a bad argument', async () => {
    const consumer = await gateway.gql(acme.users.CONSUMER.token, 'query { models { name } }');
    expect(consumer.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const tooLong = await gateway.gql(acme.users.DATA_OWNER.token, 'query { models { memory(expectedBatchSize: 1, maxTokens: 600) { fits } } }');
    expect(tooLong.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'maxTokens' });
    expect(tooLong.errors?.[0]?.message).toContain("exceeds the model's context of 512 positions");
  });

  it('planRelease refuses a release that cannot fit a worker, and createRelease refuses it before charging', async () => {
    const plan = 'query($input: ReleaseInput!) { planRelease(input: $input) { admitted refusal epsilonBefore workerMemoryBytes workerMemoryLimitBytes } }';
    // Admission plans memory from public bounds: s + 1 rows at maxPromptTokens + maxTokens positions (3 x 100 here).
    const small = { datasetId, expectedBatchSize: 2, clip: 1, temperature: 2, privateTokenCap: 2, maxTokens: 8, maxPromptTokens: 92 };
    const large = { ...small, expectedBatchSize: 40, maxTokens: 200 };
    const fits = await gateway.gql<{ planRelease: { admitted: boolean; refusal: string | null; epsilonBefore: number; workerMemoryBytes: number; workerMemoryLimitBytes: number } }>(acme.users.DATA_OWNER.token, plan, { input: small });
    expect(fits.data!.planRelease).toMatchObject({ admitted: true, refusal: null, workerMemoryLimitBytes: limit });
    expect(fits.data!.planRelease.workerMemoryBytes).toBeLessThanOrEqual(limit);
    const tooBig = await gateway.gql<{ planRelease: { admitted: boolean; refusal: string; workerMemoryBytes: number } }>(acme.users.DATA_OWNER.token, plan, { input: large });
    expect(tooBig.data!.planRelease.admitted).toBe(false);
    expect(tooBig.data!.planRelease.refusal).toMatch(/a worker would need .* GiB \(weights .* \+ 1 x .* of KV cache\), above GENERATION_MEMORY_LIMIT_BYTES .*; lower expectedBatchSize or maxTokens/);
    expect(tooBig.data!.planRelease.workerMemoryBytes).toBeGreaterThan(limit);

    const created = await gateway.gql(acme.users.DATA_OWNER.token, 'mutation($input: ReleaseInput!) { createRelease(input: $input) { id } }', { input: large });
    expect(created.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.expectedBatchSize' });
    const after = await gateway.gql<{ planRelease: { epsilonBefore: number } }>(acme.users.DATA_OWNER.token, plan, { input: small });
    expect(after.data!.planRelease.epsilonBefore).toBe(fits.data!.planRelease.epsilonBefore);
  });
});
