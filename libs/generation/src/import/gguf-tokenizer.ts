import { GenerationError } from '../generation.errors';

/** GGUF `tokenizer.ggml.token_type` values (llama.cpp's llama_token_type). */
const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** The tokenizer facts a GGUF file carries in its metadata. */
export interface GgufVocabulary {
  /** `tokenizer.ggml.model`: `llama` (SentencePiece BPE) or `gpt2` (byte-level BPE). */
  readonly model: string;
  readonly tokens: readonly string[];
  readonly scores: readonly number[] | null;
  readonly tokenTypes: readonly number[] | null;
  /** `tokenizer.ggml.merges` (`gpt2` only), each `"left right"`. */
  readonly merges: readonly string[] | null;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  readonly unknownTokenId: number | null;
  readonly addBos: boolean;
  readonly addEos: boolean;
}

type Json = Record<string, unknown>;

function addedTokens(vocab: GgufVocabulary): Json[] {
  const types = vocab.tokenTypes ?? [];
  const added: Json[] = [];
  vocab.tokens.forEach((content, id) => {
    const type = types[id];
    const special = type === TOKEN_TYPE.control || type === TOKEN_TYPE.unknown;
    if (special || type === TOKEN_TYPE.userDefined) {
      added.push({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: !special, special });
    }
  });
  return added;
}

function postProcessor(vocab: GgufVocabulary): Json | null {
  const around = (sequence: 'A' | 'B'): Json[] => [
    ...(vocab.addBos && vocab.bosTokenId !== null ? [{ SpecialToken: { id: vocab.tokens[vocab.bosTokenId], type_id: 0 } }] : []),
    { Sequence: { id: sequence, type_id: 0 } },
    ...(vocab.addEos && vocab.eosTokenId !== null ? [{ SpecialToken: { id: vocab.tokens[vocab.eosTokenId], type_id: 0 } }] : []),
  ];
  const specials: Json = {};
  for (const id of [vocab.addBos ? vocab.bosTokenId : null, vocab.addEos ? vocab.eosTokenId : null]) {
    if (id !== null) specials[vocab.tokens[id]!] = { id: vocab.tokens[id], ids: [id], tokens: [vocab.tokens[id]] };
  }
  if (Object.keys(specials).length === 0) return null;
  return { type: 'TemplateProcessing', single: around('A'), pair: [...around('A'), ...around('B')], special_tokens: specials };
}

/**
 * Rebuilds a Hugging Face `tokenizer.json` from a GGUF file's vocabulary.
 *
 * `llama` (SentencePiece BPE with byte fallback): the normaliser prepends `▁` and turns spaces
 * into `▁`; there is no pre-tokeniser; merges are every split of a normal token into two normal
 * tokens of the vocabulary, ordered by the merged token's score (highest first; ties by id), which
 * is how transformers' SentencePiece converter orders them; the decoder undoes the normaliser,
 * resolves `<0xNN>` byte tokens and strips the one leading space. `gpt2`: byte-level BPE with the
 * file's own merges and GPT-2's default split pattern.
 */
export function buildTokenizerJson(vocab: GgufVocabulary): Json {
  const vocabMap: Record<string, number> = {};
  vocab.tokens.forEach((token, id) => {
    if (!(token in vocabMap)) vocabMap[token] = id;
  });
  if (vocab.model === 'llama') return sentencePieceTokenizer(vocab, vocabMap);
  if (vocab.model === 'gpt2') return byteLevelTokenizer(vocab, vocabMap);
  throw new GenerationError('UNSUPPORTED_MODEL', `tokenizer.ggml.model "${vocab.model}" is not supported (llama and gpt2 are)`);
}

function sentencePieceTokenizer(vocab: GgufVocabulary, vocabMap: Record<string, number>): Json {
  if (!vocab.scores) throw new GenerationError('MODEL_FILE_MISSING', 'GGUF metadata tokenizer.ggml.scores is missing (needed to order SentencePiece merges)');
  const types = vocab.tokenTypes ?? vocab.tokens.map(() => TOKEN_TYPE.normal);
  const isNormal = (token: string): boolean => {
    const id = vocabMap[token];
    return id !== undefined && types[id] === TOKEN_TYPE.normal;
  };
  const merges: { left: string; right: string; score: number }[] = [];
  vocab.tokens.forEach((token, id) => {
    if (types[id] !== TOKEN_TYPE.normal) return;
    const chars = Array.from(token);
    const local: { left: string; right: string; score: number }[] = [];
    for (let i = 1; i < chars.length; i += 1) {
      const left = chars.slice(0, i).join('');
      const right = chars.slice(i).join('');
      if (isNormal(left) && isNormal(right)) local.push({ left, right, score: vocab.scores![id]! });
    }
    local.sort((a, b) => vocabMap[a.left]! - vocabMap[b.left]! || vocabMap[a.right]! - vocabMap[b.right]!);
    merges.push(...local);
  });
  merges.sort((a, b) => b.score - a.score); // stable: ties keep token-id order
  const unk = vocab.unknownTokenId !== null ? vocab.tokens[vocab.unknownTokenId] : null;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(vocab),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: postProcessor(vocab),
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unk,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: vocabMap,
      merges: merges.map((m) => [m.left, m.right]),
    },
  };
}

function byteLevelTokenizer(vocab: GgufVocabulary, vocabMap: Record<string, number>): Json {
  if (!vocab.merges) throw new GenerationError('MODEL_FILE_MISSING', 'GGUF metadata tokenizer.ggml.merges is missing (needed for a gpt2 tokenizer)');
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(vocab),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: postProcessor(vocab) ?? { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: vocabMap,
      merges: vocab.merges.map((m) => {
        const space = m.indexOf(' ');
        return [m.slice(0, space), m.slice(space + 1)];
      }),
    },
  };
}
