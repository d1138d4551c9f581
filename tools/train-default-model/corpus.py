"""Corpus: Project Gutenberg books from shared data plus modern English from Debian packages.

Held-out rule (reproduced in TypeScript by bench/model.bench.ts from the shared file alone):
split gutenberg-60mb.txt on lines equal to `<|endoftext|>`; a book is its lines (paragraphs)
between separators; its text is those lines joined by "\\n\\n"; the book is held out when the
first 8 hex digits of sha256(book lines joined by "\\n", UTF-8) read as an integer are divisible
by 20. That selects 9 of the 206 books (about 2.2 MB). Nothing of a held-out book is trained on:
training drops exact duplicate books and every paragraph of 64 characters or more already seen
in a held-out book or earlier in training.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
from typing import Dict, Iterator, List, Tuple

HELD_OUT_MODULUS = 20
DEDUP_MIN_CHARS = 64
PARAGRAPH_JOIN = "\n\n"

WORDNET_DIR = "/usr/share/wordnet"
FORTUNE_DIR = "/usr/share/games/fortunes"
# Pictures, not prose; and a file of non-English text.
FORTUNE_SKIP = {"art", "ascii-art", "translate-me"}
POS_NAMES = {"n": "noun", "v": "verb", "a": "adjective", "s": "adjective", "r": "adverb"}


def read_books(path: str) -> List[List[str]]:
    books: List[List[str]] = []
    current: List[str] = []
    # newline="\n": split on "\n" only, exactly as the TypeScript bench does.
    with open(path, encoding="utf-8", newline="\n") as f:
        for line in f:
            line = line.rstrip("\n")
            if line == "<|endoftext|>":
                books.append(current)
                current = []
            else:
                current.append(line)
    if current:
        books.append(current)
    return [b for b in books if b]


def is_held_out(book: List[str]) -> bool:
    digest = hashlib.sha256("\n".join(book).encode("utf-8")).hexdigest()
    return int(digest[:8], 16) % HELD_OUT_MODULUS == 0


def book_text(book: List[str]) -> str:
    return PARAGRAPH_JOIN.join(book)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def wordnet_documents() -> Iterator[str]:
    """One short document per synset: its words, part of speech, gloss and examples."""
    for pos_file in ("noun", "verb", "adj", "adv"):
        with open(os.path.join(WORDNET_DIR, f"data.{pos_file}"), encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  ") or " | " not in line:
                    continue  # licence header
                head, gloss = line.split(" | ", 1)
                fields = head.split()
                pos = POS_NAMES.get(fields[2], "word")
                count = int(fields[3], 16)
                words = []
                for k in range(count):
                    w = fields[4 + 2 * k].replace("_", " ")
                    w = re.sub(r"\((a|p|ip)\)$", "", w)
                    if w not in words:
                        words.append(w)
                gloss = gloss.strip()
                parts = [p.strip() for p in gloss.split(";") if p.strip()]
                definitions = [p for p in parts if not p.startswith('"')]
                examples = [p.strip('"') for p in parts if p.startswith('"')]
                text = f"{', '.join(words)} ({pos}): {'; '.join(definitions)}."
                if examples:
                    text += " For example: " + "; ".join(f'"{e}"' for e in examples) + "."
                yield text


def fortune_documents() -> Iterator[Tuple[str, str]]:
    for path in sorted(glob.glob(os.path.join(FORTUNE_DIR, "*"))):
        name = os.path.basename(path)
        if "." in name or name in FORTUNE_SKIP or os.path.islink(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            raw = f.read()
        raw = re.sub(r".\x08", "", raw)  # overstriking (bold/underline) from old terminals
        for item in re.split(r"^%\s*$", raw, flags=re.M):
            lines = [ln.strip() for ln in item.strip("\n").split("\n")]
            text = "\n".join(lines).strip()
            if len(text) >= 20:
                yield name, text


def build_documents(gutenberg_path: str, log=print) -> Tuple[List[str], List[str], Dict]:
    """(training documents, held-out documents, statistics)."""
    books = read_books(gutenberg_path)
    held = [b for b in books if is_held_out(b)]
    seen = set()
    for b in held:
        for p in b:
            if len(p) >= DEDUP_MIN_CHARS:
                seen.add(_norm(p))
    stats: Dict = {"gutenberg_books": len(books), "held_out_books": len(held)}
    train: List[str] = []
    seen_books = set()
    dropped_books = dropped_paragraphs = gut_chars = 0
    for b in books:
        if is_held_out(b):
            continue
        key = hashlib.sha256("\n".join(b).encode("utf-8")).hexdigest()
        if key in seen_books:
            dropped_books += 1
            continue
        seen_books.add(key)
        kept = []
        for p in b:
            if len(p) >= DEDUP_MIN_CHARS:
                n = _norm(p)
                if n in seen:
                    dropped_paragraphs += 1
                    continue
                seen.add(n)
            kept.append(p)
        if kept:
            text = book_text(kept)
            gut_chars += len(text)
            train.append(text)
    stats.update(
        gutenberg_train_books=len(train),
        gutenberg_duplicate_books_dropped=dropped_books,
        gutenberg_duplicate_paragraphs_dropped=dropped_paragraphs,
        gutenberg_train_chars=gut_chars,
    )
    for source, docs in (("wordnet", wordnet_documents()), ("fortunes", (t for _, t in fortune_documents()))):
        kept_n = dropped = chars = 0
        for text in docs:
            n = _norm(text)
            if n in seen:
                dropped += 1
                continue
            seen.add(n)
            train.append(text)
            kept_n += 1
            chars += len(text)
        stats[f"{source}_documents"] = kept_n
        stats[f"{source}_duplicates_dropped"] = dropped
        stats[f"{source}_chars"] = chars
    held_docs = [book_text(b) for b in held]
    stats["held_out_chars"] = sum(len(t) for t in held_docs)
    log(f"corpus: {stats}")
    return train, held_docs, stats
