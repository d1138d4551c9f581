import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { GenerationError } from '../generation.errors';

/**
 * A model's tokenizer: `tokenizer.json` (and `tokenizer_config.json` when present) loaded with
 * `@huggingface/tokenizers`, fully offline. Wraps the library so its types stay inside
 * libs/generation.
 */
export class TextTokenizer {
  private bytesOfTokens: readonly (Uint8Array | null)[] | null = null;

  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly json: TokenizerJson,
  ) {}

  /** Loads from the JSON documents themselves. */
  static fromJson(tokenizerJson: object, tokenizerConfig: object = {}): TextTokenizer {
    try {
      return new TextTokenizer(new Tokenizer(tokenizerJson, tokenizerConfig), tokenizerJson as TokenizerJson);
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

  /**
   * The bytes each token id stands for in decoded text, computed once: byte-level BPE maps its
   * token characters back through GPT-2's byte alphabet; other tokenizers (SentencePiece with byte
   * fallback) apply the decoder's string replacements and read `<0xNN>` tokens as one byte. Special
   * tokens (skipped when decoding) and ids without an entry are null. Public: it depends on the
   * tokenizer alone.
   */
  tokenBytes(): readonly (Uint8Array | null)[] {
    this.bytesOfTokens ??= tokenBytesOf(this.json);
    return this.bytesOfTokens;
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

interface TokenizerJson {
  readonly model?: { readonly type?: string; readonly byte_fallback?: boolean; readonly vocab?: Record<string, number> | readonly (readonly [string, number])[] };
  readonly added_tokens?: readonly { readonly id: number; readonly content: string; readonly special?: boolean }[];
  readonly decoder?: DecoderJson | null;
}

interface DecoderJson {
  readonly type?: string;
  readonly decoders?: readonly DecoderJson[];
  readonly pattern?: { readonly String?: string };
  readonly content?: string;
}

/** GPT-2's byte alphabet reversed: the character a byte-level BPE token uses for each byte. */
function byteLevelAlphabet(): Map<string, number> {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const map = new Map<string, number>();
  let shifted = 0;
  for (let b = 0; b < 256; b += 1) map.set(String.fromCodePoint(printable(b) ? b : 256 + shifted++), b);
  return map;
}

function flattenDecoders(decoder: DecoderJson | null | undefined): DecoderJson[] {
  if (!decoder) return [];
  return decoder.type === 'Sequence' ? (decoder.decoders ?? []).flatMap(flattenDecoders) : [decoder];
}

function tokenBytesOf(json: TokenizerJson): (Uint8Array | null)[] {
  const entries: [string, number][] = [];
  const vocab = json.model?.vocab;
  if (Array.isArray(vocab)) (vocab as readonly (readonly [string, number])[]).forEach(([piece], id) => entries.push([piece, id]));
  else if (vocab) entries.push(...Object.entries(vocab));
  const size = Math.max(0, ...entries.map(([, id]) => id + 1), ...(json.added_tokens ?? []).map((t) => t.id + 1));
  const bytes: (Uint8Array | null)[] = new Array<Uint8Array | null>(size).fill(null);
  const decoders = flattenDecoders(json.decoder);
  const encoder = new TextEncoder();
  if (decoders.some((d) => d.type === 'ByteLevel')) {
    const alphabet = byteLevelAlphabet();
    for (const [piece, id] of entries) {
      const out: number[] = [];
      for (const char of piece) {
        const b = alphabet.get(char);
        if (b === undefined) {
          out.push(...encoder.encode(char));
        } else {
          out.push(b);
        }
      }
      bytes[id] = Uint8Array.from(out);
    }
  } else {
    const replacements = decoders.filter((d) => d.type === 'Replace' && typeof d.pattern?.String === 'string').map((d) => [d.pattern!.String!, d.content ?? ''] as const);
    const byteFallback = json.model?.byte_fallback === true || decoders.some((d) => d.type === 'ByteFallback');
    for (const [piece, id] of entries) {
      const fallback = byteFallback ? /^<0x([0-9A-Fa-f]{2})>$/.exec(piece) : null;
      if (fallback) {
        bytes[id] = Uint8Array.of(parseInt(fallback[1]!, 16));
        continue;
      }
      let text = piece;
      for (const [pattern, content] of replacements) text = text.split(pattern).join(content);
      bytes[id] = encoder.encode(text);
    }
  }
  for (const added of json.added_tokens ?? []) bytes[added.id] = added.special ? null : encoder.encode(added.content);
  return bytes;
}
