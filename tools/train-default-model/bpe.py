"""Byte-level BPE: our own trainer, an encoder, and a Hugging Face tokenizer.json writer.

The encoder reproduces what Hugging Face's ByteLevel pre-tokenizer + BPE model do (and therefore
what `@huggingface/tokenizers` does in the product): split text with the GPT-2 pattern, map each
UTF-8 byte of a piece to a printable character, then apply merges by rank inside each piece.
default-model.spec.ts checks that claim on the fixture this module writes.
"""

from __future__ import annotations

import heapq
import json
from collections import Counter
from typing import Dict, Iterable, List, Sequence, Tuple

import regex

# The pattern of the ByteLevel pre-tokenizer (use_regex: true), as tokenizers.js spells it.
PRETOKENIZE = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

EOS = "<|endoftext|>"
EOS_ID = 0


def bytes_to_unicode() -> Dict[int, str]:
    """GPT-2's reversible map from the 256 byte values to printable unicode characters."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


def pretokenize(text: str) -> List[str]:
    """Split text into pieces and map each piece's bytes to byte-level characters."""
    return ["".join(BYTE_TO_CHAR[b] for b in piece.encode("utf-8")) for piece in PRETOKENIZE.findall(text)]


def count_pieces(texts: Iterable[str]) -> Counter:
    counts: Counter = Counter()
    for text in texts:
        counts.update(pretokenize(text))
    return counts


def train_bpe(piece_counts: Counter, vocab_size: int, log=print) -> Tuple[List[str], List[Tuple[str, str]]]:
    """Learn merges until the vocabulary (EOS + 256 bytes + merges) reaches vocab_size.

    Greedy BPE with incremental pair counts and a lazy max-heap. Ties between equally frequent
    pairs go to the pair whose symbols come first in (first id, second id) order, so the result
    depends on the counts alone (deterministic, seed-free).
    Returns (vocab in id order, merges in rank order).
    """
    symbols: List[str] = [EOS] + [BYTE_TO_CHAR[b] for b in range(256)]
    symbol_id = {s: i for i, s in enumerate(symbols)}
    words: List[List[int]] = []
    freqs: List[int] = []
    for piece, count in sorted(piece_counts.items()):
        words.append([symbol_id[c] for c in piece])
        freqs.append(count)

    pair_counts: Dict[Tuple[int, int], int] = {}
    pair_where: Dict[Tuple[int, int], set] = {}
    for wi, word in enumerate(words):
        f = freqs[wi]
        for pair in zip(word, word[1:]):
            pair_counts[pair] = pair_counts.get(pair, 0) + f
            pair_where.setdefault(pair, set()).add(wi)
    heap = [(-c, p) for p, c in pair_counts.items()]
    heapq.heapify(heap)

    merges: List[Tuple[str, str]] = []
    while len(symbols) < vocab_size and heap:
        negc, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -negc or negc == 0:
            continue  # stale heap entry
        a, b = pair
        new_id = len(symbols)
        symbols.append(symbols[a] + symbols[b])
        merges.append((symbols[a], symbols[b]))
        touched: Dict[Tuple[int, int], None] = {}
        for wi in list(pair_where.get(pair, ())):
            word = words[wi]
            f = freqs[wi]
            for p in zip(word, word[1:]):
                pair_counts[p] -= f
                touched[p] = None
            merged: List[int] = []
            i = 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == a and word[i + 1] == b:
                    merged.append(new_id)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            words[wi] = merged
            for p in zip(merged, merged[1:]):
                pair_counts[p] = pair_counts.get(p, 0) + f
                pair_where.setdefault(p, set()).add(wi)
                touched[p] = None
        for p in touched:
            c = pair_counts.get(p, 0)
            if c > 0:
                heapq.heappush(heap, (-c, p))
            else:
                pair_counts.pop(p, None)
                pair_where.pop(p, None)
        pair_counts.pop(pair, None)
        pair_where.pop(pair, None)
        if len(merges) % 500 == 0:
            log(f"bpe: {len(merges)} merges, last {symbols[-1]!r} ({-negc})")
    return symbols, merges


class ByteLevelBPE:
    """Encoder/decoder over a trained vocabulary; the reference the JS tokenizer must match."""

    def __init__(self, vocab: Sequence[str], merges: Sequence[Tuple[str, str]]):
        self.vocab = list(vocab)
        self.token_id = {t: i for i, t in enumerate(self.vocab)}
        self.ranks = {pair: r for r, pair in enumerate(merges)}
        self.merges = list(merges)
        self.cache: Dict[str, List[int]] = {}

    def _bpe(self, piece: str) -> List[int]:
        cached = self.cache.get(piece)
        if cached is not None:
            return cached
        parts = list(piece)
        while len(parts) > 1:
            best = None
            best_rank = None
            for i in range(len(parts) - 1):
                r = self.ranks.get((parts[i], parts[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = i, r
            if best is None:
                break
            a, b = parts[best], parts[best + 1]
            # Merge every occurrence of the best pair, left to right, as HF does.
            merged: List[str] = []
            i = 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == a and parts[i + 1] == b:
                    merged.append(a + b)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        ids = [self.token_id[p] for p in parts]
        if len(self.cache) < 2_000_000:
            self.cache[piece] = ids
        return ids

    def encode(self, text: str) -> List[int]:
        """Ids of text; the literal `<|endoftext|>` is the special token, as in the JSON's added_tokens."""
        ids: List[int] = []
        for k, chunk in enumerate(text.split(EOS)):
            if k > 0:
                ids.append(EOS_ID)
            for piece in pretokenize(chunk):
                ids.extend(self._bpe(piece))
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        out = bytearray()
        for i in ids:
            if i == EOS_ID:
                out.extend(EOS.encode("utf-8"))
            else:
                out.extend(CHAR_TO_BYTE[c] for c in self.vocab[i])
        return out.decode("utf-8", errors="replace")

    def to_hf_json(self) -> dict:
        """A tokenizer.json in the layout of GPT-2's (ByteLevel pre-tokenizer and decoder, BPE model)."""
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [
                {
                    "id": EOS_ID,
                    "content": EOS,
                    "single_word": False,
                    "lstrip": False,
                    "rstrip": False,
                    "normalized": False,
                    "special": True,
                }
            ],
            "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            "post_processor": None,
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {
                "type": "BPE",
                "dropout": None,
                "unk_token": None,
                "continuing_subword_prefix": "",
                "end_of_word_suffix": "",
                "fuse_unk": False,
                "byte_fallback": False,
                "ignore_merges": False,
                "vocab": {t: i for i, t in enumerate(self.vocab)},
                "merges": [f"{a} {b}" for a, b in self.merges],
            },
        }

    @staticmethod
    def from_hf_json(path: str) -> "ByteLevelBPE":
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        vocab_map = data["model"]["vocab"]
        vocab = [""] * len(vocab_map)
        for t, i in vocab_map.items():
            vocab[i] = t
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in data["model"]["merges"]]
        return ByteLevelBPE(vocab, merges)  # type: ignore[arg-type]
