import { type FieldValue, type RecordSchema } from '@synthgate/records';
import { GenerationError } from '../generation.errors';
import { RecordGrammar, type RecordState } from './record-grammar';
import { type TokenConstraint } from './token-constraint';
import { UTF8_STATE_COUNT, utf8Step } from './utf8-token-mask';

/** The vocabulary as a byte trie: each node lists the tokens whose bytes end there. */
interface TrieNode {
  readonly children: Map<number, TrieNode>;
  readonly tokens: number[];
}

/** A tokenizer's byte trie, built once per model and shared by every schema's mask. */
export class VocabularyTrie {
  readonly root: TrieNode = { children: new Map(), tokens: [] };
  /**
   * `finishTokens[u]`: the fewest tokens made of continuation bytes alone that finish a character
   * from UTF-8 state `u` (0 for state 0; Infinity when none can).
   */
  readonly finishTokens: readonly number[];
  /** The most bytes of any token. */
  readonly longestToken: number = 0;

  constructor(
    tokenBytes: readonly (Uint8Array | null)[],
    readonly vocabSize: number,
  ) {
    for (let token = 0; token < Math.min(vocabSize, tokenBytes.length); token += 1) {
      const bytes = tokenBytes[token];
      if (!bytes || bytes.length === 0) continue;
      let node = this.root;
      this.longestToken = Math.max(this.longestToken, bytes.length);
      for (const b of bytes) {
        let child = node.children.get(b);
        if (!child) {
          child = { children: new Map(), tokens: [] };
          node.children.set(b, child);
        }
        node = child;
      }
      node.tokens.push(token);
    }
    const single = (b: number) => (this.root.children.get(b)?.tokens.length ?? 0) > 0;
    this.finishTokens = finishTokensOf(tokenBytes);
    const missing = Array.from({ length: 0x5f }, (_, i) => 0x20 + i).filter((b) => !single(b));
    if (missing.length > 0) {
      throw new GenerationError(
        'INVALID_GENERATION_INPUT',
        `the tokenizer cannot write every JSON character: no single-byte token for ${missing.map((b) => JSON.stringify(String.fromCharCode(b))).join(' ')}`,
      );
    }
  }
}

const writingProblems = new WeakMap<readonly (Uint8Array | null)[], string | null>();

/**
 * Why a tokenizer cannot write structured records (no single-byte token for some JSON
 * character), or null when it can: a public property of the model, checked when a structured
 * release is requested so that a model that cannot write its records is refused before any debit.
 */
export function recordWritingProblem(tokenBytes: readonly (Uint8Array | null)[], vocabSize: number): string | null {
  let problem = writingProblems.get(tokenBytes);
  if (problem === undefined) {
    try {
      new VocabularyTrie(tokenBytes, vocabSize);
      problem = null;
    } catch (error) {
      problem = error instanceof GenerationError ? error.message : String(error);
    }
    writingProblems.set(tokenBytes, problem);
  }
  return problem;
}

/**
 * Bytes of masks kept per constraint before its cache starts over (each mask is one byte per
 * vocabulary entry: 4,000 masks of a 4,096-token vocabulary, about 100 of a 150,000-token one).
 */
const CACHE_BYTES = 16 * 1024 * 1024;

/**
 * The schema constraint over a vocabulary: at each state, the tokens whose bytes keep the record
 * valid ({@link RecordGrammar}), found by walking the vocabulary's byte trie against the automaton
 * (a subtree is pruned at the first byte no record continues with), and cached per state key.
 * End-of-sequence is allowed only when the record is complete, and then it is the only token.
 */
export class RecordTokenMask implements TokenConstraint<RecordState> {
  readonly grammar: RecordGrammar;
  private readonly cache = new Map<string, Uint8Array>();
  private readonly forcedCache = new Map<string, readonly number[]>();
  private readonly eos: readonly number[];
  private readonly encode: ((text: string) => number[]) | null;
  private readonly cacheLimit: number;

  /**
   * `fixed`: values fixed for this record (the batch's condition value). `encode`: the tokenizer
   * (no special tokens), to write forced bytes as tokens; without it no token is forced.
   */
  constructor(
    schema: RecordSchema,
    readonly trie: VocabularyTrie,
    eosTokenIds: Iterable<number>,
    private readonly tokenBytes: readonly (Uint8Array | null)[],
    options: { readonly fixed?: Readonly<Record<string, FieldValue>>; readonly encode?: (text: string) => number[] } = {},
  ) {
    this.grammar = new RecordGrammar(schema, { fixed: options.fixed ?? {} });
    this.eos = [...eosTokenIds];
    this.encode = options.encode ?? null;
    this.cacheLimit = Math.max(16, Math.floor(CACHE_BYTES / trie.vocabSize));
  }

  /**
   * The forced bytes of `state` ({@link RecordGrammar.forcedBytes}, cut to whole characters) as the
   * tokenizer writes them; empty when the tokens would not pass the mask one by one (then the
   * steps are sampled as usual).
   */
  forcedTokens(state: RecordState): readonly number[] {
    if (this.encode === null) return [];
    const key = this.grammar.key(state, this.trie.longestToken);
    let tokens = this.forcedCache.get(key);
    if (!tokens) {
      tokens = this.computeForced(state);
      if (this.forcedCache.size >= this.cacheLimit) this.forcedCache.clear();
      this.forcedCache.set(key, tokens);
    }
    return tokens;
  }

  private computeForced(state: RecordState): readonly number[] {
    const bytes = this.grammar.forcedBytes(state);
    let whole = 0;
    for (let i = 0, utf8 = 0; i < bytes.length; i += 1) {
      utf8 = utf8Step(utf8, bytes[i]!);
      if (utf8 < 0) break;
      if (utf8 === 0) whole = i + 1;
    }
    if (whole === 0) return [];
    const tokens = this.encode!(new TextDecoder().decode(Uint8Array.from(bytes.slice(0, whole))));
    let current = state;
    for (const token of tokens) {
      if (this.allowedIn(current)[token] !== 1) return [];
      current = this.after(current, token);
    }
    return tokens;
  }

  get initial(): RecordState {
    return this.grammar.initial;
  }

  allowedIn(state: RecordState): Uint8Array {
    const key = this.grammar.key(state, this.trie.longestToken);
    let mask = this.cache.get(key);
    if (!mask) {
      mask = this.compute(state);
      if (this.cache.size >= this.cacheLimit) this.cache.clear();
      this.cache.set(key, mask);
    }
    return mask;
  }

  /** The state after `token`; a token the mask does not allow is refused (a decoding loop bug). */
  after(state: RecordState, token: number): RecordState {
    const bytes = this.tokenBytes[token];
    let next: RecordState | null = bytes && bytes.length > 0 ? state : null;
    for (let i = 0; next !== null && i < bytes!.length; i += 1) next = this.grammar.step(next, bytes![i]!);
    if (next === null || !this.grammar.tokenMayEndIn(next, this.trie.finishTokens)) {
      throw new GenerationError('INVALID_GENERATION_INPUT', `token ${token} cannot continue the record here`);
    }
    return this.grammar.boundary(next);
  }

  isFinished(state: RecordState): boolean {
    return this.grammar.isComplete(state);
  }

  mustFinish(state: RecordState): boolean {
    return !this.grammar.isComplete(state);
  }

  endsInsideCharacter(): boolean {
    return false;
  }

  private compute(state: RecordState): Uint8Array {
    const allowed = new Uint8Array(this.trie.vocabSize);
    if (this.grammar.isComplete(state)) {
      for (const token of this.eos) if (token < allowed.length) allowed[token] = 1;
      return allowed;
    }
    const grammar = this.grammar;
    const finishTokens = this.trie.finishTokens;
    const walk = (node: TrieNode, current: RecordState): void => {
      if (node.tokens.length > 0 && grammar.tokenMayEndIn(current, finishTokens)) for (const token of node.tokens) allowed[token] = 1;
      for (const [b, child] of node.children) {
        const next = grammar.step(current, b);
        if (next !== null) walk(child, next);
      }
    };
    walk(this.trie.root, state);
    return allowed;
  }
}

/**
 * Shortest paths over the UTF-8 decoder's states: a token of continuation bytes alone moves a
 * pending character from one state to another (or finishes it). Bellman-Ford over the few states.
 */
function finishTokensOf(tokenBytes: readonly (Uint8Array | null)[]): number[] {
  const moves = new Set<string>();
  for (const bytes of tokenBytes) {
    if (!bytes || bytes.length === 0 || bytes[0]! < 0x80 || bytes[0]! > 0xbf) continue;
    for (let start = 1; start < UTF8_STATE_COUNT; start += 1) {
      let state = start;
      for (let i = 0; i < bytes.length && state > 0; i += 1) state = utf8Step(state, bytes[i]!);
      // Only tokens that end with the character or inside it: their bytes are all its continuations.
      if (state >= 0 && (state > 0 || utf8Prefix(start, bytes))) moves.add(`${start}:${state}`);
    }
  }
  const distance = Array.from({ length: UTF8_STATE_COUNT }, (_, u) => (u === 0 ? 0 : Infinity));
  for (let round = 0; round < UTF8_STATE_COUNT; round += 1) {
    for (const move of moves) {
      const [from, to] = move.split(':').map(Number) as [number, number];
      distance[from] = Math.min(distance[from]!, distance[to]! + 1);
    }
  }
  return distance;
}

/** Whether the whole token is the rest of one character from `state` (it ends exactly with it). */
function utf8Prefix(state: number, bytes: Uint8Array): boolean {
  let current = state;
  for (let i = 0; i < bytes.length; i += 1) {
    if (current === 0) return false;
    current = utf8Step(current, bytes[i]!);
    if (current < 0) return false;
  }
  return current === 0;
}
