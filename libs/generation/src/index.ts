/**
 * @synthgate/generation: the decoding engine (DESIGN.md sections 5 and 6). No ONNX Runtime type
 * leaves this library; callers see typed arrays, plain objects and these names.
 *
 * Loading and generating (the worker, issue 5):
 * ```ts
 * const model = await loadModel('models/default', { threads, executionProvider, kvCacheLimitBytes });
 * model.fingerprint / model.files            // identity to record with a release
 * model.info                                 // vocabSize, eosTokenIds, maxPositions, layers, kv heads
 * model.planRows(maxPromptTokens, maxNewTokens)        // public memory plan: bytes per row, rows that keep a cache
 * model.fitPrompt({ before, text, after }, maxPromptTokens)   // a record's prompt cut to the bound, label part whole
 * const example = await model.generateExample({
 *   privatePrompts, publicPrompt,                  // the public row runs apart from the private rows
 *   params: { clip, expectedBatchSize, temperature, publicTemperature, topK, drafter, privateTokenCap, maxNewTokens, maxPromptTokens },
 *   rng: new CryptoRng(),                    // SeededRng in tests
 *   mode: 'kv-cache',                        // default; 'recompute' and 'resample-per-token' for benchmarks
 *   speculative: { maxDraftTokens: 4 },      // optional: public drafts verified in one batched pass
 * });
 * example.text                               // releasable
 * example.privateSteps, publicSteps, stopReason, stepTimings   // NOT releasable (DESIGN.md section 4)
 * await model.release();
 * ```
 * Every privacy decision (clip, aggregate, sample, sparse vector) is made by libs/privacy's
 * sampler of the release's mechanism (a `TokenSampler` from its registry); this library only computes logits and moves tokens.
 *
 * Importing (the CLI's `synthgate model import`): {@link importModel} turns a GGUF file, a Hugging
 * Face folder or an exported ONNX folder into `models/<name>/` (model.onnx in the Optimum layout,
 * tokenizer.json, config.json, manifest.json with every file's sha256).
 *
 * Building graphs: {@link buildLlamaOnnx} writes a Llama-family decoder as ONNX from float32
 * weights; {@link referenceForward} is the plain TypeScript forward pass tests hold it to.
 */
export {
  type ExampleParams,
  type PrivateExampleParams,
  type GeneratedExample,
  type GeneratedText,
  type GenerateExampleRequest,
  type GenerateTextRequest,
  GenerationModel,
  type LoadModelOptions,
  loadModel,
  type MemoryPlan,
  type ModelInfo,
  type RowMemoryPlan,
} from './generation-model';
export { DECODING_MODES, type DecodingMode } from './decoding/decoding-modes';
export { type StepTimings, type StepTrace, type StopReason } from './decoding/private-decoding';
export { type ExecutionProvider } from './runtime/onnx-decoder';
export { cudaProviderProblem, cudaUnavailableMessage } from './runtime/execution-provider';
export { type DecodeStepTraffic, decodeStepHostTraffic, type HostTrafficShape } from './runtime/host-traffic';
export { probeExecutionProvider, type ProviderReport } from './runtime/provider-probe';
// Everything ORT-free (model folders, cards, prompt and chat templates) is also exported here.
export * from './catalog';
export { AUTO_INT4_PARAMETERS, chooseWeightStorage, importModel, type ImportModelOptions, type ImportModelResult } from './import/model-import';
export {
  type LlamaArchitecture,
  type LlamaLayerWeights,
  type LlamaWeights,
  type RopeLayout,
  type RopeScaling,
} from './model/llama-architecture';
export { buildLlamaOnnx, DECODER_IO, type LlamaGraphOptions } from './model/llama-graph.builder';
export { referenceForward } from './model/llama-reference';
