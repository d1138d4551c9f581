/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadModel } from '@synthgate/generation';
import { Command, CommanderError } from 'commander';
import { TINY_VOCAB_SIZE, writeTinyLlamaGguf } from '../../../libs/generation/src/testing/model-files';
import { tinyArchitecture, tinyWeights } from '../../../libs/generation/src/testing/tiny-llama';
import { registerModelCommands } from './model.command';

/** Runs `synthgate <args>` in process; returns stdout, stderr, the exit code and any thrown error. */
async function run(args: string[]): Promise<{ out: string; err: string; exitCode: number; error?: Error }> {
  let out = '';
  let err = '';
  const program = new Command('synthgate')
    .exitOverride()
    .configureOutput({ writeOut: (text) => void (out += text), writeErr: (text) => void (err += text) });
  registerModelCommands(program, { writeOut: (text) => void (out += text) });
  try {
    await program.parseAsync(args, { from: 'user' });
    return { out, err, exitCode: 0 };
  } catch (error) {
    if (error instanceof CommanderError) return { out, err, exitCode: error.exitCode };
    return { out, err, exitCode: 1, error: error as Error };
  }
}

let root: string;
let models: string;
let gguf: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'model-cli-'));
  models = join(root, 'models');
  gguf = join(root, 'tiny.gguf');
  const arch = tinyArchitecture({ vocabSize: TINY_VOCAB_SIZE, ropeLayout: 'interleaved' });
  writeTinyLlamaGguf(gguf, arch, tinyWeights(arch, 2));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('synthgate model import', () => {
  it('writes models/<name>/ and lists its files with their hashes', async () => {
    const { out, exitCode } = await run(['model', 'import', gguf, '--name', 'tiny', '--models-dir', models]);
    expect(exitCode).toBe(0);
    expect(out).toMatch(/^imported gguf tiny\.gguf as tiny in .*models\/tiny\/ \(weights fp32\)$/m);
    expect(out).toMatch(/^ {2}model\.onnx\s+\d+ bytes {2}sha256 [0-9a-f]{64}$/m);
    const again = await run(['model', 'import', gguf, '--name', 'tiny', '--models-dir', models, '--force', '--json']);
    expect(JSON.parse(again.out)).toMatchObject({ name: 'tiny', kind: 'gguf', source: { file: 'tiny.gguf' } });
  });

  it('stores the weights as asked (--weights int4 through MatMulNBits) and the model still decodes', async () => {
    const int4Models = join(root, 'models-int4');
    const { out, exitCode } = await run(['model', 'import', gguf, '--name', 'tiny-int4', '--models-dir', int4Models, '--weights', 'int4', '--json']);
    expect(exitCode).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ name: 'tiny-int4', kind: 'gguf', weights: 'int4' });
    const config = JSON.parse(readFileSync(join(int4Models, 'tiny-int4', 'config.json'), 'utf8')) as { synthgate: Record<string, string> };
    expect(config.synthgate.weight_storage).toBe('int4');
    const generated = await run(['model', 'generate', '--model', 'tiny-int4', '--prompt', 'the day', '--max-tokens', '3', '--greedy', '--models-dir', int4Models, '--threads', '1']);
    expect(generated.exitCode).toBe(0);
    expect(generated.out.startsWith('the day')).toBe(true);
    const refused = await run(['model', 'import', gguf, '--name', 'x', '--models-dir', int4Models, '--weights', 'fp8']);
    expect(refused.err).toMatch(/--weights <storage>' argument 'fp8' is invalid. Allowed choices are auto, fp32, fp16, int4/);
  });

  it('names what is wrong', async () => {
    expect((await run(['model', 'import', gguf, '--models-dir', models])).err).toMatch(/--name <name>/);
    const missing = await run(['model', 'import', join(root, 'nope.gguf'), '--name', 'x', '--models-dir', models]);
    expect(missing.error?.message).toMatch(/nope\.gguf does not exist/);
    const exists = await run(['model', 'import', gguf, '--name', 'tiny', '--models-dir', models]);
    expect(exists.error).toMatchObject({ code: 'MODEL_EXISTS' });
  });
});

describe('synthgate model generate', () => {
  it('prints the greedy text alone, as the engine decodes it', async () => {
    const { out, exitCode } = await run(['model', 'generate', '--model', 'tiny', '--prompt', 'the day', '--max-tokens', '5', '--greedy', '--models-dir', models, '--threads', '1']);
    expect(exitCode).toBe(0);
    const model = await loadModel(join(models, 'tiny'), { threads: 1 });
    const expected = await model.generateText({ prompt: 'the day', maxNewTokens: 5, greedy: true });
    await model.release();
    expect(out).toBe(`${expected.text}\n`);
    expect(out.startsWith('the day')).toBe(true);
  });

  it('samples reproducibly with --seed and refuses unknown models and bad flags', async () => {
    const args = ['model', 'generate', '--model', 'tiny', '--prompt', 'one', '--max-tokens', '6', '--seed', 's', '--models-dir', models];
    expect((await run(args)).out).toBe((await run(args)).out);
    const unknown = await run(['model', 'generate', '--model', 'ghost', '--prompt', 'x', '--models-dir', models]);
    expect(unknown.error?.message).toMatch(/model ghost not found.*synthgate model import/);
    expect((await run(['model', 'generate', '--model', 'tiny', '--prompt', 'x', '--max-tokens', '0', '--models-dir', models])).err).toMatch(/--max-tokens.*whole number >= 1/);
  });
});

// The fallback is only observable where onnxruntime-node's CUDA provider is not installed (the
// default here: .npmrc skips its download).
const CUDA_PROVIDER = join(dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so');
const itWithoutCuda = existsSync(CUDA_PROVIDER) ? (console.log('skipped: the CUDA provider is installed'), it.skip) : it;

describe('synthgate model provider', () => {
  it('reports the provider that ran the kernels of one forward pass', async () => {
    const { out, exitCode } = await run(['model', 'provider', '--model', 'tiny', '--execution-provider', 'cpu', '--models-dir', models]);
    expect(exitCode).toBe(0);
    expect(out).toMatch(/^requested {3}cpu\nrunning on {2}cpu\nkernels {5}CPUExecutionProvider (\d+) of \1\n$/);
  });

  itWithoutCuda('says in one line why cuda is not used, and exits 3', async () => {
    const { out, err, exitCode } = await run(['model', 'provider', '--model', 'tiny', '--models-dir', models]);
    expect(exitCode).toBe(3);
    expect(out).toMatch(/^requested {3}cuda\nrunning on {2}cpu\nwhy {9}CUDA execution provider not available: onnxruntime-node's CUDA binaries are not installed \([^\n]*\)\nkernels {5}CPUExecutionProvider \d+ of \d+\n$/);
    expect(err).toBe('');
    const json = await run(['model', 'provider', '--model', 'tiny', '--models-dir', models, '--json']);
    expect(JSON.parse(json.out)).toMatchObject({ requested: 'cuda', provider: 'cpu', fallback: expect.stringMatching(/^CUDA execution provider not available: /), kernels: { CPUExecutionProvider: expect.any(Number) } });
  });
});

describe('synthgate model generate --chat', () => {
  it("refuses a model without a chat template, and renders the model's template when the Jinja package is there", async () => {
    const none = await run(['model', 'generate', '--model', 'tiny', '--prompt', 'hi', '--chat', '--models-dir', models]);
    expect(none.error?.message).toMatch(/has no chat template \(tokenizer_config\.json chat_template\)/);

    const chatGguf = join(root, 'chat.gguf');
    const arch = tinyArchitecture({ vocabSize: TINY_VOCAB_SIZE, ropeLayout: 'interleaved' });
    writeTinyLlamaGguf(chatGguf, arch, tinyWeights(arch, 2), 'F32', {
      metadata: [{ key: 'tokenizer.chat_template', type: 'string', value: '{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}assistant:' }],
    });
    const chatModels = join(root, 'models-chat');
    expect((await run(['model', 'import', chatGguf, '--name', 'chat', '--models-dir', chatModels])).exitCode).toBe(0);
    const chat = await run(['model', 'generate', '--model', 'chat', '--prompt', 'the day', '--system', 'be brief', '--max-tokens', '2', '--greedy', '--threads', '1', '--models-dir', chatModels]);
    expect(chat.exitCode).toBe(0);
    // The printed text is the rendered prompt (decoded) and its continuation.
    expect(chat.out).toContain('system: be brief');
    expect(chat.out).toContain('user: the day');
    expect(chat.out).toContain('assistant:');
  });
});

describe('synthgate model list', () => {
  it('lists imported models with their catalogue entries', async () => {
    const { out } = await run(['model', 'list', '--models-dir', models, '--json']);
    expect(JSON.parse(out)).toEqual([
      expect.objectContaining({ name: 'tiny', source: expect.objectContaining({ kind: 'gguf' }), architecture: 'LlamaForCausalLM', weightStorage: 'fp32', chatTemplate: false, releaseMemoryBytes: null }),
    ]);
    const table = await run(['model', 'list', '--models-dir', models, '--expected-batch-size', '8', '--max-tokens', '32']);
    expect(table.out).toMatch(/^name\s+architecture\s+params\s+weights\s+context\s+chat\s+disk\s+memory\s+release s=8$/m);
    expect(table.out).toMatch(/^tiny\s+LlamaForCausalLM\s+0\.\dM\s+fp32\s+128\s+no\s+[\d.]+ MiB\s+[\d.]+ MiB\s+[\d.]+ MiB$/m);
    expect((await run(['model', 'list', '--models-dir', models, '--expected-batch-size', '8'])).error?.message).toMatch(/--expected-batch-size and --max-tokens go together/);
  });
});
