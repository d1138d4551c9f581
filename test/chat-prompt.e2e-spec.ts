/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { join } from 'node:path';
import { buildTokenizerJson } from '../libs/generation/src/import/gguf-tokenizer';
import { writeLlamaModelFolder } from '../libs/generation/src/import/llama-model.writer';
import { TINY_VOCAB_SIZE, tinyVocabulary } from '../libs/generation/src/testing/model-files';
import { tinyArchitecture, tinyWeights } from '../libs/generation/src/testing/tiny-llama';
import { PHI3_CHAT_TEMPLATE } from '../libs/generation/src/tokenizer/chat-templates.fixture';
import { createDataset, createOrganization, importRecords, type TestOrganization } from './setup/factories';
import { startTestGateway, type TestGateway } from './setup/gateway';
import { createTestModelsDir } from './setup/models';
import { startTestWorker, waitForRelease } from './setup/worker';

/**
 * A dataset's prompt as a chat (issue 17): validated at creation, rendered through the chat
 * template of a release's model (the public prompt is the same chat without the record), and the
 * plain template for a model without one. The release runs end to end on the chat model.
 */
const TURNS = [
  { role: 'system', content: 'You write short support tickets about {label}.' },
  { role: 'user', content: 'Example: {text}\n\nWrite another ticket about {label}.' },
];
const RENDERED = '<|system|>\nYou write short support tickets about {label}.<|end|>\n<|user|>\nExample: {text}\n\nWrite another ticket about {label}.<|end|>\n<|assistant|>\n';
const RENDERED_PUBLIC = '<|system|>\nYou write short support tickets about {label}.<|end|>\n<|user|>\nWrite another ticket about {label}.<|end|>\n<|assistant|>\n';

function modelsWithChat(): string {
  const dir = createTestModelsDir();
  const arch = tinyArchitecture({ vocabSize: TINY_VOCAB_SIZE, maxPositions: 512 });
  writeLlamaModelFolder(join(dir, 'chat'), 'chat', { kind: 'huggingface', file: 'chat', sha256: null }, {
    arch,
    weights: tinyWeights(arch, 11),
    tokenizerJson: buildTokenizerJson(tinyVocabulary()),
    tokenizerConfig: { chat_template: PHI3_CHAT_TEMPLATE, bos_token: '<s>', eos_token: '</s>' },
    architectureName: 'Phi3ForCausalLM',
    modelType: 'phi3',
  });
  return dir;
}

function records(count: number): string {
  return `text,label\n${Array.from({ length: count }, (_, i) => `"Ticket ${i}: the printer jams",${i % 2 ? 'billing' : 'hardware'}`).join('\n')}\n`;
}

describe('chat prompts', () => {
  let gateway: TestGateway;
  let worker: Awaited<ReturnType<typeof startTestWorker>>;
  let acme: TestOrganization;
  let datasetId: string;
  const owner = () => acme.users.DATA_OWNER;

  beforeAll(async () => {
    gateway = await startTestGateway({ MODELS_DIR: modelsWithChat(), DEFAULT_MODEL: 'tiny' });
    worker = await startTestWorker(gateway);
    acme = await createOrganization(gateway);
    datasetId = (await createDataset(gateway, owner(), { epsilon: 20, delta: 1e-6 })).id;
    expect((await importRecords(gateway, owner().token, datasetId, records(40))).body.imported).toBe(40);
  });
  afterAll(async () => {
    await worker.close();
    await gateway.close();
  });

  const update = 'mutation($input: UpdateDatasetInput!) { updateDataset(input: $input) { promptChat { role content } } }';

  it('refuses a chat that breaks the rules, naming the field', async () => {
    for (const [promptChat, message] of [
      [[{ role: 'user', content: 'no record' }], 'exactly once'],
      [[{ role: 'tool', content: '{text}' }], 'turn 0 has role "tool"'],
      [[{ role: 'user', content: '{text} {colour}' }], 'unknown placeholder {colour}'],
    ] as const) {
      const result = await gateway.gql(owner().token, update, { input: { id: datasetId, promptChat } });
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.promptChat' });
      expect(result.errors?.[0]?.message).toContain(message);
    }
    const unlabelled = await gateway.gql(owner().token, 'mutation($input: CreateDatasetInput!) { createDataset(input: $input) { id } }', {
      input: { name: 'unlabelled chat', textField: 'text', promptChat: TURNS },
    });
    expect(unlabelled.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.promptChat' });
  });

  it('renders the chat through the model\'s template; a model without one uses the plain template', async () => {
    const stored = await gateway.data<{ updateDataset: { promptChat: unknown } }>(owner().token, update, { input: { id: datasetId, promptChat: TURNS } });
    expect(stored.updateDataset.promptChat).toEqual(TURNS);
    const create = 'mutation($input: ReleaseInput!) { createRelease(input: $input) { id parameters { promptTemplate publicPromptTemplate maxPromptTokens } } }';
    const input = { datasetId, expectedBatchSize: 10, clip: 1, temperature: 2, privateTokenCap: 4, maxTokens: 6 };
    const { createRelease: chat } = await gateway.data<{ createRelease: { id: string; parameters: { promptTemplate: string; publicPromptTemplate: string } } }>(owner().token, create, {
      input: { ...input, model: 'chat' },
    });
    expect(chat.parameters).toMatchObject({ promptTemplate: RENDERED, publicPromptTemplate: RENDERED_PUBLIC });
    expect(await waitForRelease(gateway, owner().token, chat.id)).toEqual({ status: 'SUCCEEDED', failureReason: null });
    const { createRelease: plain } = await gateway.data<{ createRelease: { parameters: { promptTemplate: string } } }>(owner().token, create, { input: { ...input, model: 'tiny' } });
    expect(plain.parameters.promptTemplate).toBe('Here is a text about {label}: {text}\n\nHere is another text about {label}:');
    const removed = await gateway.data<{ updateDataset: { promptChat: unknown } }>(owner().token, update, { input: { id: datasetId, promptChat: [] } });
    expect(removed.updateDataset.promptChat).toBeNull();
  });
});
