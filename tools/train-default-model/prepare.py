"""Stage 1: corpus, tokenizer, token streams. Outputs go to the work directory (never the repo)."""

from __future__ import annotations

import json
import os
import random
import time

import numpy as np

import bpe
import corpus
import pairs

# Fixture texts: the prompt template, newlines, digits, punctuation, non-ASCII, the special token.
FIXTURE_TEXTS = [
    "Here is a question about LOC: Where is the Eiffel Tower?\n\nHere is another question about LOC:",
    "Here is a question about Sci/Tech: NASA's 2004 budget rose 5.6% to $16.2 billion.\n\nHere is another question about Sci/Tech:",
    "Once upon a time, there was a little girl named Lily.",
    "  leading spaces, trailing spaces   \n\n\n  tabs\tand\r\nCRLF line ends  ",
    "Naïve café owners in Zürich paid 1,234.56 € — “quoted” ‘text’ … 日本語 и русский 🙂",
    "It's, isn't it? We'll see; they'd've done it: \"yes\" (no) [maybe] {perhaps} <tag> #1 @2 ~3",
    "123456789 0.001 3.14159 1e-5 2024-11-29 12:30:45",
    "first<|endoftext|>second document\n",
    "ALL CAPS TITLE\nCHAPTER IV.\n\nThe End.",
    "",
]


def fixture_texts(tok: bpe.ByteLevelBPE, count: int = 40, seed: int = 1234) -> list:
    """FIXTURE_TEXTS plus seeded random strings: runs of vocabulary tokens mixed with random
    letters, digits, punctuation, whitespace and non-ASCII characters (no corpus text, which must
    not be copied into the repository)."""
    rng = random.Random(seed)
    extra_chars = "0123456789.,;:!?'\"()[]-_/&%$€£éèüößñçøåæœ—–“”‘’…°±×÷中文日本語한국어русский🙂👍\t\n \r"
    texts = list(FIXTURE_TEXTS)
    for _ in range(count):
        parts = []
        for _ in range(rng.randrange(10, 60)):
            if rng.random() < 0.7:
                parts.append(tok.decode([rng.randrange(1, len(tok.vocab))]))
            else:
                parts.append("".join(rng.choice(extra_chars) for _ in range(rng.randrange(1, 4))))
        text = "".join(parts)
        # A lone byte-level token may be half of a UTF-8 character: keep valid text only.
        texts.append(text.encode("utf-8", errors="ignore").decode("utf-8", errors="ignore").replace("\ufffd", ""))
    return texts


def write_fixture(tok: bpe.ByteLevelBPE, path: str) -> None:
    """(text, ids) pairs from our encoder; default-model.spec.ts checks @huggingface/tokenizers agrees."""
    fixture = [{"text": t, "ids": tok.encode(t)} for t in fixture_texts(tok)]
    for item in fixture:
        assert tok.decode(item["ids"]) == item["text"], item["text"]
    with open(path, "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(json.dumps(item, ensure_ascii=False) for item in fixture) + "\n]\n")


def prepare(gutenberg: str, work: str, vocab_size: int, log=print) -> None:
    os.makedirs(work, exist_ok=True)
    tok_path = os.path.join(work, "tokenizer.json")
    if os.path.exists(os.path.join(work, "train.bin")) and os.path.exists(tok_path):
        log("prepare: already done")
        return
    t0 = time.time()
    train_docs, held_docs, stats = corpus.build_documents(gutenberg, log)
    log(f"prepare: corpus built in {time.time() - t0:.0f}s")

    if not os.path.exists(tok_path):
        t1 = time.time()
        counts = bpe.count_pieces(train_docs)
        log(f"prepare: {len(counts)} distinct pieces counted in {time.time() - t1:.0f}s")
        vocab, merges = bpe.train_bpe(counts, vocab_size, log)
        tok = bpe.ByteLevelBPE(vocab, merges)
        with open(tok_path, "w", encoding="utf-8") as f:
            json.dump(tok.to_hf_json(), f, ensure_ascii=False)
        log(f"prepare: tokenizer trained in {time.time() - t1:.0f}s")
    tok = bpe.ByteLevelBPE.from_hf_json(tok_path)

    write_fixture(tok, os.path.join(work, "tokenizer-fixture.json"))

    t2 = time.time()
    for name, docs in (("train", train_docs), ("heldout", held_docs)):
        stream = []
        for doc in docs:
            stream.append(bpe.EOS_ID)
            stream.extend(tok.encode(doc))
        arr = np.asarray(stream, dtype=np.uint16)
        arr.tofile(os.path.join(work, f"{name}.bin.tmp"))
        stats[f"{name}_tokens"] = int(arr.size)
        log(f"prepare: {name}: {arr.size} tokens")
    stats["chars_per_token_train"] = (
        stats["gutenberg_train_chars"] + stats["wordnet_chars"] + stats["fortunes_chars"]
    ) / stats["train_tokens"]
    with open(os.path.join(work, "corpus-stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
    os.replace(os.path.join(work, "heldout.bin.tmp"), os.path.join(work, "heldout.bin"))
    os.replace(os.path.join(work, "train.bin.tmp"), os.path.join(work, "train.bin"))
    log(f"prepare: encoded in {time.time() - t2:.0f}s")


def prepare_pairs(gutenberg: str, work: str, seed: int, log=print) -> None:
    """pairs.bin: the paired prompt-format documents (pairs.py), each preceded by token 0;
    pairs-starts.bin: the offset of each document's token 0 (int64), where training windows start."""
    if os.path.exists(os.path.join(work, "pairs-starts.bin")):
        log("prepare pairs: already done")
        return
    t0 = time.time()
    docs, stats = pairs.paired_documents(gutenberg, seed, log)
    tok = bpe.ByteLevelBPE.from_hf_json(os.path.join(work, "tokenizer.json"))
    stream: list = []
    starts: list = []
    for doc in docs:
        starts.append(len(stream))
        stream.append(bpe.EOS_ID)
        stream.extend(tok.encode(doc))
    np.asarray(stream, dtype=np.uint16).tofile(os.path.join(work, "pairs.bin"))
    stats["pairs_tokens"] = len(stream)
    stats["pairs_documents"] = len(docs)
    with open(os.path.join(work, "corpus-stats.json")) as f:
        all_stats = json.load(f)
    all_stats.update(stats)
    with open(os.path.join(work, "corpus-stats.json"), "w") as f:
        json.dump(all_stats, f, indent=1)
    np.asarray(starts, dtype=np.int64).tofile(os.path.join(work, "pairs-starts.bin.tmp"))
    os.replace(os.path.join(work, "pairs-starts.bin.tmp"), os.path.join(work, "pairs-starts.bin"))
    log(f"prepare pairs: {len(docs)} documents, {len(stream)} tokens in {time.time() - t0:.0f}s")
