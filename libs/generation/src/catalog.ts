/**
 * @synthgate/generation/catalog: what can be known of a model folder and a prompt without ONNX
 * Runtime. The gateway imports this entry point only, so it never loads onnxruntime-node (a native
 * library of several hundred MB) just to read a manifest; catalog.spec.ts checks that nothing
 * reachable from here requires it. The engine reads folders through the same
 * {@link describeModelFolder}, so the gateway and the workers agree on every value.
 *
 * ```ts
 * const folder = describeModelFolder('models/default');   // manifest (hashes checked), config, special tokens, chat template
 * const card = modelCard(folder);                          // the catalogue's view
 * releaseMemoryBytes(card, rows, positions);               // what a batch needs on a worker
 * fillPrompt(template, { text, label });                   // the prompt the worker will run
 * ```
 */
export { GenerationError, type GenerationErrorCode } from './generation.errors';
export {
  describeModelFolder,
  type ModelConfigJson,
  type ModelFolderDescription,
  type ModelShape,
  modelShape,
} from './import/model-description';
export {
  MANIFEST_FORMAT,
  MODEL_FILES,
  type ModelFileEntry,
  type ModelManifest,
  type ModelSource,
  modelFingerprint,
  readManifest,
  sha256File,
} from './import/model-folder';
export { DEFAULT_CONTEXT_LENGTH, type ModelCard, modelCard, readModelCard, releaseMemoryBytes } from './import/model-card';
export { kvCacheBytes } from './runtime/kv-cache-batch';
export { WEIGHT_STORAGES, type WeightStorage } from './model/weight-storage';
export { TextTokenizer } from './tokenizer/text-tokenizer';
export {
  CHAT_TEMPLATE_PACKAGE,
  type ChatMessage,
  type ChatSpecialTokens,
  chatTemplateOf,
  renderChat,
  specialTokenOf,
} from './tokenizer/chat-template';
export {
  chatPrompts,
  chatTemplateProblem,
  DEFAULT_LABELLED_TEMPLATE,
  DEFAULT_UNLABELLED_TEMPLATE,
  fillPrompt,
  MAX_PROMPT_TEMPLATE_LENGTH,
  placeholdersOf,
  promptParts,
  promptTemplateProblem,
  type PromptValues,
  publicPromptTemplate,
  renderChatPromptTemplates,
  TEXT_PLACEHOLDER,
} from './prompt/prompt-template';
export { recordTokenBound } from './decoding/record-grammar';
export { recordWritingProblem } from './decoding/record-token-mask';
