"""Paired documents in the product's prompt format: `Here is a <kind> about <topic>: A\\n\\nHere is
another <kind> about <topic>: B`, where A and B come from the same source and are close.

Synthgate prompts the model with a sensitive record under a header and asks for "another" one
(apps/gateway/src/datasets/prompt-template.ts). A model trained only on running prose continues
such a prompt with generic prose whatever record precedes it (issue 12: the record moved the first
next-token distribution by 0.25 in L1). These documents teach the format: what follows "another"
resembles what came before it, in kind (question, definition, quotation, abbreviation, dialogue),
in topic and in wording.

Sources (all public domain or permissively licensed; none is an evaluation set or derived from one):
- Gutenberg training books (never the held-out ones): neighbouring short paragraphs, neighbouring
  lines of dialogue, and questions asked near each other in one book.
- WordNet 3.0 (Debian wordnet-base): glosses of sibling synsets (same hypernym or instance
  hypernym), with the lexicographer file as topic; short questions about instance synsets
  ("Who was ...?", "Where is ...?") grouped by lexicographer file.
- fortunes (Debian fortunes, fortunes-min): two fortunes of one file, the file name as topic.
- FOLDOC (Debian dict-foldoc, GNU FDL): first sentences of computing definitions sharing a
  category tag.
- V.E.R.A. (Debian dict-vera, GNU FDL): acronyms and their expansions, neighbours in one subject.

Everything is seeded; the output depends only on the inputs and the seed.
"""

from __future__ import annotations

import base64
import collections
import gzip
import os
import random
import re
from typing import Dict, Iterator, List, Sequence, Tuple

import corpus

FOLDOC = "/usr/share/dictd/foldoc"
VERA = "/usr/share/dictd/vera"

# WordNet lexicographer files (lex_filenum -> name), as WordNet's lexnames(5WN) documents them.
LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body "
    "noun.cognition noun.communication noun.event noun.feeling noun.food noun.group noun.location "
    "noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession noun.process "
    "noun.quantity noun.relation noun.shape noun.state noun.substance noun.time verb.body verb.change "
    "verb.cognition verb.communication verb.competition verb.consumption verb.contact verb.creation "
    "verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl"
).split()
# How a lexicographer file reads as a topic phrase.
LEX_TOPICS = {
    "noun.act": "an activity", "noun.animal": "an animal", "noun.artifact": "an object",
    "noun.attribute": "a quality", "noun.body": "the body", "noun.cognition": "an idea",
    "noun.communication": "communication", "noun.event": "an event", "noun.feeling": "a feeling",
    "noun.food": "food", "noun.group": "a group", "noun.location": "a place", "noun.object": "a natural object",
    "noun.person": "a person", "noun.phenomenon": "nature", "noun.plant": "a plant",
    "noun.possession": "money", "noun.process": "a process", "noun.quantity": "a measure",
    "noun.shape": "a shape", "noun.state": "a condition", "noun.substance": "a substance",
    "noun.time": "time", "verb.motion": "movement", "verb.communication": "speaking",
    "verb.competition": "sport and competition", "verb.creation": "making things", "verb.emotion": "feelings",
    "verb.social": "society", "verb.weather": "the weather", "verb.body": "the body", "verb.change": "change",
}
FORTUNE_TOPICS = {
    "computers": "computers", "education": "education", "food": "food", "law": "the law", "linux": "computers",
    "love": "love", "medicine": "medicine", "men-women": "men and women", "news": "the news",
    "people": "people", "pets": "animals", "politics": "politics", "science": "science", "sports": "sports",
    "work": "work", "wisdom": "wisdom", "literature": "books", "kids": "children", "drugs": "drugs",
    "riddles": "a riddle", "songs-poems": "a song", "definitions": "words", "humorists": "humour",
    "magic": "magic", "platitudes": "life", "startrek": "space travel", "pratchett": "a story",
}
# Questions from books, grouped by what they ask for (a property of the question's own words).
QUESTION_TOPICS = (
    (re.compile(r"^(who|whom|whose)\b", re.I), "a person"),
    (re.compile(r"^where\b", re.I), "a place"),
    (re.compile(r"^(when|how (many|much|long|old|far|often))\b", re.I), "a number"),
    (re.compile(r"^why\b", re.I), "a reason"),
    (re.compile(r"^what\b", re.I), "a thing"),
    (re.compile(r"^how\b", re.I), "a way of doing something"),
)
HEADER_FORMS = (
    # (first header, next header): {a} is "a"/"an" + kind, {kind}, {topic}
    ("Here is {a} about {topic}:", "Here is another {kind} about {topic}:"),
    ("Here is {a} about {topic}:", "Here is another {kind} about {topic}:"),
    ("Here is {a} about {topic}:", "Here is another {kind} about {topic}:"),
    ("Here is {a}:", "Here is another {kind}:"),
    ("Here is {a} about {topic}:", "Here is a similar {kind} about {topic}:"),
    ("An example of {a} about {topic}:", "Another example:"),
    ("{Kind} about {topic}:", "Another {kind} about {topic}:"),
    ("Here is a text about {topic}:", "Here is another text about {topic}:"),
    ("Here is a text:", "Here is another text:"),
)
MAX_CHARS = 420
MIN_CHARS = 12


def _article(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def _norm_space(text: str) -> str:
    return " ".join(text.split())


def render(kind: str, topic: str, items: Sequence[str], rng: random.Random) -> str:
    first, nxt = HEADER_FORMS[rng.randrange(len(HEADER_FORMS))]
    fill = {"a": _article(kind), "kind": kind, "Kind": kind[:1].upper() + kind[1:], "topic": topic}
    if not topic:
        first, nxt = first.replace(" about {topic}", ""), nxt.replace(" about {topic}", "")
        if "{topic}" in first:  # "Here is a text about {topic}" without a topic
            first, nxt = "Here is {a}:", "Here is another {kind}:"
    parts = [f"{first.format(**fill)} {items[0]}"] + [f"{nxt.format(**fill)} {item}" for item in items[1:]]
    return "\n\n".join(parts)


def _group(items: Sequence[str], rng: random.Random) -> List[List[str]]:
    """Consecutive items in twos (sometimes threes): neighbours stay together."""
    out: List[List[str]] = []
    i = 0
    while i + 1 < len(items):
        size = 3 if rng.random() < 0.2 and i + 2 < len(items) else 2
        out.append(list(items[i : i + size]))
        i += size
    return out


def _sentences_with_question(paragraph: str) -> List[str]:
    found = []
    for match in re.finditer(r"[A-Z][^.!?\"“”]{8,160}\?", paragraph):
        q = match.group(0).strip()
        if q.split()[0].lower() in {"who", "whom", "whose", "where", "when", "why", "what", "how", "which", "is", "are", "do", "does", "did", "can", "will", "was"}:
            found.append(q)
    return found


def gutenberg_documents(books: Sequence[List[str]], rng: random.Random) -> Iterator[Tuple[str, str, List[str]]]:
    for book in books:
        if corpus.is_held_out(book):
            continue
        run: List[str] = []
        dialogue: List[str] = []
        questions: Dict[str, List[str]] = collections.defaultdict(list)
        for paragraph in book:
            p = _norm_space(paragraph)
            short = MIN_CHARS * 2 <= len(p) <= MAX_CHARS
            if short and p[:1] in "\"“'‘":
                dialogue.append(p)
            elif short:
                run.append(p)
            else:
                for group in _group(run, rng):
                    yield rng.choice(("passage", "paragraph", "excerpt", "text")), "", group
                for group in _group(dialogue, rng):
                    yield rng.choice(("line of dialogue", "reply", "remark")), "", group
                run, dialogue = [], []
            for q in _sentences_with_question(p):
                topic = next((t for pattern, t in QUESTION_TOPICS if pattern.search(q)), "")
                questions[topic].append(q)
        for topic, items in questions.items():
            for group in _group(items, rng):
                yield "question", topic, group


def _wordnet_synsets() -> Iterator[Tuple[str, str, List[str], str, List[str]]]:
    """(offset key, lexname, words, first definition, hypernym keys) per synset."""
    for pos_file in ("noun", "verb", "adj", "adv"):
        with open(os.path.join(corpus.WORDNET_DIR, f"data.{pos_file}"), encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  ") or " | " not in line:
                    continue
                head, gloss = line.split(" | ", 1)
                fields = head.split()
                offset, lexnum, count = fields[0], int(fields[1]), int(fields[3], 16)
                words = []
                for k in range(count):
                    w = re.sub(r"\((a|p|ip)\)$", "", fields[4 + 2 * k].replace("_", " "))
                    if w not in words:
                        words.append(w)
                rest = fields[4 + 2 * count :]
                pointers = int(rest[0])
                hypernyms = []
                for k in range(pointers):
                    symbol, target, pos = rest[1 + 4 * k : 4 + 4 * k]
                    if symbol in ("@", "@i"):
                        hypernyms.append(f"{pos}{target}")
                definition = next((p.strip() for p in gloss.split(";") if p.strip() and not p.strip().startswith('"')), "")
                yield f"{pos_file[0]}{offset}", LEXNAMES[lexnum], words, definition.strip(), hypernyms


def wordnet_documents(rng: random.Random) -> Iterator[Tuple[str, str, List[str]]]:
    siblings: Dict[str, List[Tuple[str, List[str], str]]] = collections.defaultdict(list)
    instance_questions: Dict[str, List[str]] = collections.defaultdict(list)
    for _key, lexname, words, definition, hypernyms in _wordnet_synsets():
        if not definition or lexname not in LEX_TOPICS:
            continue
        for h in hypernyms[:1]:
            siblings[h].append((lexname, words, definition))
        name = words[0]
        if lexname.startswith("noun.") and name[:1].islower() and len(instance_questions["words"]) < 6000 and rng.random() < 0.25:
            instance_questions["words"].append(rng.choice(("What is {a}?", "What does {n} mean?", "What is the meaning of {n}?")).format(a=_article(name), n=name))
        if name[:1].isupper() and lexname in ("noun.person", "noun.location", "noun.event", "noun.group"):
            form = {"noun.person": "Who was {n}?", "noun.location": "Where is {n}?", "noun.event": "When was {n}?", "noun.group": "What is {n}?"}[lexname]
            instance_questions[lexname].append(form.format(n=name))
    for members in siblings.values():
        if len(members) < 2:
            continue
        rng.shuffle(members)
        texts = [f"{', '.join(words[:3])}: {definition}" for _, words, definition in members[:6]]
        for group in _group(texts, rng):
            yield rng.choice(("definition", "dictionary entry", "encyclopedia entry", "description")), LEX_TOPICS[members[0][0]], group
    for lexname, questions in instance_questions.items():
        rng.shuffle(questions)
        for group in _group(questions[:3000], rng):
            yield "question", "a description" if lexname == "words" else LEX_TOPICS[lexname], group


def fortune_documents_paired(rng: random.Random) -> Iterator[Tuple[str, str, List[str]]]:
    by_file: Dict[str, List[str]] = collections.defaultdict(list)
    for name, text in corpus.fortune_documents():
        if len(text) <= MAX_CHARS:
            by_file[name].append(text)
    for name, texts in sorted(by_file.items()):
        for group in _group(texts, rng):
            kind = rng.choice(("quotation", "saying", "short text", "message", "joke" if name in ("humorists", "riddles", "kids") else "remark"))
            yield kind, FORTUNE_TOPICS.get(name, ""), group


def _dictd_entries(base: str) -> Iterator[Tuple[str, str]]:
    if not os.path.exists(base + ".index"):
        return
    alphabet = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}

    def number(s: str) -> int:
        value = 0
        for c in s:
            value = value * 64 + alphabet[c]
        return value

    with gzip.open(base + ".dict.dz", "rb") as f:
        data = f.read()
    with open(base + ".index", encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3 or parts[0].startswith("00-database") or parts[0].startswith("00database"):
                continue
            start, length = number(parts[1]), number(parts[2])
            yield parts[0], data[start : start + length].decode("utf-8", errors="replace")


def foldoc_documents(rng: random.Random) -> Iterator[Tuple[str, str, List[str]]]:
    by_tag: Dict[str, List[str]] = collections.defaultdict(list)
    seen = set()
    for word, body in _dictd_entries(FOLDOC):
        text = _norm_space(re.sub(r"[{}]", "", body.split("\n", 1)[-1]))
        match = re.match(r"<([a-z ,]+)>\s*(.*)", text)
        if not match or word in seen:
            continue
        seen.add(word)
        tag = match.group(1).split(",")[0].strip()
        first = re.split(r"(?<=[.!?])\s", match.group(2), maxsplit=1)[0]
        if MIN_CHARS * 2 <= len(first) <= MAX_CHARS and "see" not in first[:8].lower():
            by_tag[tag].append(f"{word}: {first}")
    for tag, texts in sorted(by_tag.items()):
        rng.shuffle(texts)
        topic = {"programming": "programming", "language": "a programming language", "hardware": "computer hardware", "networking": "computer networks", "company": "a company", "operating system": "operating systems", "jargon": "computer jargon", "file format": "a file format"}.get(tag, "computing")
        for group in _group(texts, rng):
            yield rng.choice(("definition", "encyclopedia entry", "description")), topic, group


def vera_documents(rng: random.Random) -> Iterator[Tuple[str, str, List[str]]]:
    by_subject: Dict[str, List[str]] = collections.defaultdict(list)
    for word, body in _dictd_entries(VERA):
        lines = [ln.strip() for ln in body.split("\n")[1:] if ln.strip()]
        if not lines:
            continue
        match = re.match(r"(.*?)(?:\s*\(.*\))?\s*\[([a-z ]+)\]", lines[0])
        if match:
            by_subject[match.group(2)].append(f"{word}: {match.group(1).strip()}")
    for subject, texts in sorted(by_subject.items()):
        for group in _group(texts, rng):
            yield "abbreviation", rng.choice(("an abbreviation", subject, "")), group


def paired_documents(gutenberg_path: str, seed: int, log=print) -> Tuple[List[str], Dict]:
    rng = random.Random(seed)
    books = corpus.read_books(gutenberg_path)
    docs: List[str] = []
    stats: Dict = {}
    sources = (
        ("gutenberg", gutenberg_documents(books, rng)),
        ("wordnet", wordnet_documents(rng)),
        ("fortunes", fortune_documents_paired(rng)),
        ("foldoc", foldoc_documents(rng)),
        ("vera", vera_documents(rng)),
    )
    for name, generated in sources:
        count = chars = 0
        for kind, topic, items in generated:
            # Questions are rare in books and the commonest kind of short record: each question
            # group appears twice, under two header wordings.
            for _ in range(2 if kind == "question" else 1):
                text = render(kind, topic, items, rng)
                docs.append(text)
                count += 1
                chars += len(text)
        stats[f"pairs_{name}_documents"] = count
        stats[f"pairs_{name}_chars"] = chars
    rng.shuffle(docs)
    log(f"pairs: {stats}")
    return docs, stats
