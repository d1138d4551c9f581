import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { GenerationError } from '../generation.errors';

/**
 * A model's tokenizer: `tokenizer.json` (and `tokenizer_config.json` when present) loaded with
 * `@huggingface/tokenizers`, fully offline. Wraps the library so its types stay inside
 * libs/generation.
 */
export class TextTokenizer {
  private constructor(private readonly tokenizer: Tokenizer) {}

  /** Loads from the JSON documents themselves. */
  static fromJson(tokenizerJson: object, tokenizerConfig: object = {}): TextTokenizer {
    try {
      return new TextTokenizer(new Tokenizer(tokenizerJson, tokenizerConfig));
    } catch (error) {
      throw new GenerationError('MODEL_FORMAT_INVALID', `tokenizer.json could not be loaded: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Loads `tokenizer.json` (required) and `tokenizer_config.json` (optional) from files. */
  static fromFiles(tokenizerPath: string, configPath: string | null): TextTokenizer {
    const json = parseJsonFile(tokenizerPath);
    const config = configPath ? parseJsonFile(configPath) : {};
    return TextTokenizer.fromJson(json, config);
  }

  /** Token ids of `text`, with the tokenizer's own special tokens (e.g. BOS) unless told not to. */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  /** Text of `ids`; special tokens (BOS, EOS, padding) are skipped by default. */
  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? true });
  }

  /**
   * The text that `newIds` add after `contextIds`. Decoding only the new ids would lose what
   * depends on context (SentencePiece drops the leading space of a sequence's first word), so the
   * whole sequence is decoded and the context's own decoding cut off. When the context's text is
   * not a prefix of the whole (a byte sequence split across the boundary), falls back to decoding
   * the new ids alone.
   */
  decodeContinuation(contextIds: readonly number[], newIds: readonly number[]): string {
    if (newIds.length === 0) return '';
    const context = this.decode(contextIds);
    const whole = this.decode([...contextIds, ...newIds]);
    return whole.startsWith(context) ? whole.slice(context.length) : this.decode(newIds);
  }

  /** Id of a token string, or undefined. */
  tokenId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  /** Number of entries in the vocabulary, added tokens included. */
  get vocabularySize(): number {
    return this.tokenizer.get_vocab(true).size;
  }
}

function parseJsonFile(path: string): object {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new GenerationError('MODEL_FILE_MISSING', `${path} is missing`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not a JSON object');
    return parsed;
  } catch (error) {
    throw new GenerationError('MODEL_FORMAT_INVALID', `${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}
