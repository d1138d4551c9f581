import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import {
  AUTO_INT4_PARAMETERS,
  type ChatMessage,
  describeModelFolder,
  importModel,
  loadModel,
  MODEL_FILES,
  probeExecutionProvider,
  readModelCard,
  releaseMemoryBytes,
  renderChat,
  WEIGHT_STORAGES,
  type WeightStorage,
} from '@synthgate/generation';
import { CryptoRng, SeededRng } from '@synthgate/privacy';
import { type Command, CommanderError, InvalidArgumentError, Option } from 'commander';

/** Where the model commands write their results (stdout by default; tests capture it). */
export interface ModelCommandOutput {
  writeOut(text: string): void;
}

const stdout: ModelCommandOutput = { writeOut: (text) => void process.stdout.write(text) };

function wholeNumber(min: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) throw new InvalidArgumentError(`must be a whole number >= ${min}, got ${text}.`);
    return value;
  };
}

function positiveNumber(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || !(value > 0)) throw new InvalidArgumentError(`must be a number > 0, got ${text}.`);
  return value;
}

/** A model given by name (a folder under --models-dir) or by path. */
function modelFolder(model: string, modelsDir: string): string {
  const named = resolve(modelsDir, model);
  if (existsSync(named)) return named;
  if (existsSync(resolve(model))) return resolve(model);
  throw new Error(`model ${model} not found in ${modelsDir}/ (import it with \`synthgate model import <source> --name ${model}\`)`);
}

/**
 * The prompt as the model's chat template renders a (system and) user turn, ready for the
 * assistant. `bos_token` renders empty: encoding the prompt adds BOS as the tokenizer does.
 */
function chatPrompt(folder: string, prompt: string, system: string | undefined): Promise<string> {
  const described = describeModelFolder(folder, { verify: false });
  const template = described.chatTemplate;
  if (!template) throw new Error(`${folder} has no chat template (tokenizer_config.json chat_template); drop --chat and --system`);

  const messages: ChatMessage[] = [...(system !== undefined ? [{ role: 'system' as const, content: system }] : []), { role: 'user', content: prompt }];
  return Promise.resolve(renderChat(template, messages, { bosToken: '', eosToken: described.eosTokenText ?? '' }));
}

/**
 * `synthgate model import|generate|provider|list`: model folders (DESIGN.md section 6) on the command line.
 * `import` turns a GGUF file, a Hugging Face folder or an exported ONNX folder into
 * `<models-dir>/<name>/`; `generate` decodes one prompt with the KV-cached engine (non-private: a
 * smoke test of a model, never run on sensitive data) and prints the text alone; `provider`
 * reports which execution provider runs a model's kernels (checks a CUDA install, docs/gpu.md).
 */
export function registerModelCommands(program: Command, output: ModelCommandOutput = stdout): void {
  const model = program.command('model').description('import, inspect and try language models');

  model
    .command('import')
    .description('import a GGUF file (llama), a Hugging Face folder (config.json, *.safetensors, tokenizer.json) or an ONNX folder into models/<name>/')
    .argument('<source>', 'GGUF file or model folder')
    .requiredOption('--name <name>', 'folder name under the models directory (letters, digits, . _ -)')
    .option('--models-dir <dir>', 'models directory', 'models')
    .addOption(
      new Option('--weights <storage>', `how the ONNX graph stores weight matrices: fp32 (exact), fp16 (half the file; float32 again in memory), int4 (MatMulNBits blocks of 32: about a third of fp32's memory, faster), or auto: int4 past ${AUTO_INT4_PARAMETERS / 1e6}M parameters, else fp32. GGUF and Hugging Face sources only`)
        .choices(['auto', ...WEIGHT_STORAGES]),
    )
    .option('--force', 'replace an existing model of that name')
    .option('--json', 'print one JSON object')
    .action(async (source: string, flags: { name: string; modelsDir: string; weights?: WeightStorage | 'auto'; force?: boolean; json?: boolean }) => {
      const result = await importModel(source, { name: flags.name, modelsDir: flags.modelsDir, overwrite: flags.force ?? false, weightStorage: flags.weights });
      const folder = relative(process.cwd(), result.dir) || '.';
      if (flags.json) {
        output.writeOut(`${JSON.stringify({ name: flags.name, kind: result.kind, dir: folder, weights: result.weightStorage, source: result.manifest.source, files: result.manifest.files })}\n`);
        return;
      }
      output.writeOut(
        [
          `imported ${result.kind} ${result.manifest.source.file} as ${flags.name} in ${folder}/${result.weightStorage ? ` (weights ${result.weightStorage})` : ''}`,
          ...result.manifest.files.map((f) => `  ${f.path.padEnd(24)} ${String(f.bytes).padStart(12)} bytes  sha256 ${f.sha256}`),
        ].join('\n') + '\n',
      );
    });

  model
    .command('generate')
    .description('decode one prompt (non-private; for checking a model) and print the text')
    .requiredOption('--model <name>', 'model name under the models directory, or a model folder')
    .requiredOption('--prompt <text>', 'prompt text')
    .option('--max-tokens <n>', 'tokens to generate, >= 1', wholeNumber(1), 64)
    .option('--greedy', 'take the most likely token at every step')
    .option('--temperature <t>', 'sampling temperature, > 0 (without --greedy)', positiveNumber, 1)
    .option('--seed <seed>', 'seed a reproducible sample (default: cryptographic randomness)')
    .option('--threads <n>', 'ONNX Runtime threads', wholeNumber(1), 2)
    .addOption(new Option('--execution-provider <name>', 'ONNX Runtime execution provider (cuda needs its binaries installed)').choices(['cpu', 'cuda']).default('cpu'))
    .option('--chat', "wrap the prompt as a user turn in the model's chat template (needs @huggingface/jinja)")
    .option('--system <text>', 'a system turn before the prompt (implies --chat)')
    .option('--models-dir <dir>', 'models directory', 'models')
    .action(async (flags: { model: string; prompt: string; maxTokens: number; greedy?: boolean; temperature: number; seed?: string; threads: number; executionProvider: 'cpu' | 'cuda'; chat?: boolean; system?: string; modelsDir: string }) => {
      const folder = modelFolder(flags.model, flags.modelsDir);
      const prompt = flags.chat || flags.system !== undefined ? await chatPrompt(folder, flags.prompt, flags.system) : flags.prompt;
      const loaded = await loadModel(folder, { threads: flags.threads, executionProvider: flags.executionProvider });
      try {
        const result = await loaded.generateText({
          prompt,
          maxNewTokens: flags.maxTokens,
          greedy: flags.greedy ?? false,
          temperature: flags.temperature,
          rng: flags.seed === undefined ? new CryptoRng() : new SeededRng(flags.seed),
        });
        output.writeOut(`${result.text}\n`);
      } finally {
        await loaded.release();
      }
    });

  model
    .command('provider')
    .description('open a model as the worker would and report which ONNX Runtime execution provider runs its kernels (exit code 3 when it is not the one asked for)')
    .option('--model <name>', 'model name under the models directory, or a model folder', 'default')
    .addOption(new Option('--execution-provider <name>', 'the provider to ask for, as GENERATION_EXECUTION_PROVIDER').choices(['cpu', 'cuda']).default('cuda'))
    .option('--threads <n>', 'ONNX Runtime threads', wholeNumber(1), 1)
    .option('--models-dir <dir>', 'models directory', 'models')
    .option('--json', 'print one JSON object')
    .action(async (flags: { model: string; executionProvider: 'cpu' | 'cuda'; threads: number; modelsDir: string; json?: boolean }) => {
      const folder = modelFolder(flags.model, flags.modelsDir);
      const report = await probeExecutionProvider(join(folder, MODEL_FILES.onnx), { executionProvider: flags.executionProvider, threads: flags.threads });
      if (flags.json) output.writeOut(`${JSON.stringify(report)}\n`);
      else {
        const total = Object.values(report.kernels).reduce((sum, n) => sum + n, 0);
        const kernels = Object.entries(report.kernels)
          .sort((a, b) => b[1] - a[1])
          .map(([provider, n]) => `${provider} ${n} of ${total}`);
        output.writeOut(
          [
            `requested   ${report.requested}`,
            `running on  ${report.provider}`,
            ...(report.fallback ? [`why         ${report.fallback}`] : []),
            `kernels     ${kernels.join(', ') || 'none profiled'}`,
          ].join('\n') + '\n',
        );
      }
      // The report above already says why; the exit code is for scripts.
      if (report.provider !== report.requested) throw new CommanderError(3, 'synthgate.provider', `the model runs on ${report.provider}, not ${report.requested}`);
    });

  model
    .command('list')
    .description('the model catalogue: architecture, parameters, weight storage, context, chat template, disk size and weight memory of each model folder')
    .option('--models-dir <dir>', 'models directory', 'models')
    .option('--expected-batch-size <s>', 'also show the memory a release batch of s records needs (with --max-tokens)', wholeNumber(1))
    .option('--max-tokens <n>', 'generated tokens per example, for the memory column', wholeNumber(1))
    .option('--prompt-tokens <n>', 'prompt tokens per row, for the memory column', wholeNumber(1), 64)
    .option('--json', 'print one JSON array')
    .action((flags: { modelsDir: string; expectedBatchSize?: number; maxTokens?: number; promptTokens: number; json?: boolean }) => {
      if ((flags.expectedBatchSize === undefined) !== (flags.maxTokens === undefined)) throw new Error('--expected-batch-size and --max-tokens go together');
      const dir = resolve(flags.modelsDir);
      const rows = (existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : [])
        .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && existsSync(join(dir, entry.name, 'manifest.json')))
        .map((entry) => {
          const card = readModelCard(join(dir, entry.name), entry.name);
          const release =
            flags.expectedBatchSize !== undefined && flags.maxTokens !== undefined ? releaseMemoryBytes(card, flags.expectedBatchSize + 1, flags.promptTokens + flags.maxTokens) : null;
          return { ...card, bytes: card.diskBytes, releaseMemoryBytes: release?.total ?? null };
        });
      if (flags.json) output.writeOut(`${JSON.stringify(rows)}\n`);
      else if (rows.length === 0) output.writeOut(`no models in ${flags.modelsDir}/\n`);
      else {
        const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
        const header = ['name', 'architecture', 'params', 'weights', 'context', 'chat', 'disk', 'memory', ...(flags.expectedBatchSize !== undefined ? [`release s=${flags.expectedBatchSize}`] : [])];
        const lines = rows.map((r) => [
          r.name,
          r.architecture ?? '?',
          `${(r.parameters / 1e6).toFixed(1)}M`,
          r.weightStorage ?? 'onnx',
          String(r.contextLength),
          r.chatTemplate ? 'yes' : 'no',
          mib(r.diskBytes),
          mib(r.weightMemoryBytes),
          ...(r.releaseMemoryBytes !== null ? [mib(r.releaseMemoryBytes)] : []),
        ]);
        const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
        output.writeOut([header, ...lines].map((l) => l.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n');
      }
    });
}
