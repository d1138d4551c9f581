import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { SeededRandom } from '@synthgate/text-classifier';

/** One labelled example. */
export interface Example {
  readonly text: string;
  readonly label: string;
}

/**
 * A labelled task: `privatePart` is what the data owner imports (the sensitive dataset), `test`
 * the held-out part the classifiers are scored on (never imported, never used for tuning).
 */
export interface Task {
  readonly name: string;
  readonly description: string;
  readonly privatePart: readonly Example[];
  readonly test: readonly Example[];
  /** The dataset's prompt template (tuned on private parts only; see docs/benchmarks). */
  readonly promptTemplate: string;
}

export const TASK_NAMES = ['trec', 'agnews', 'dbpedia'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

/** Longest record text, in words: AG News and DBPedia texts are cut here (prompt length bounds the cost of a batch). */
export const MAX_WORDS = 50;

export const TEMPLATES: Record<TaskName | 'jsonl', string> = {
  trec: 'Here is a question about {label}: {text}\n\nHere is another question about {label}:',
  agnews: 'Here is a news report about {label}: {text}\n\nHere is another news report about {label}:',
  dbpedia: 'Here is an encyclopedia entry about {label}: {text}\n\nHere is another encyclopedia entry about {label}:',
  jsonl: 'Here is a text about {label}: {text}\n\nHere is another text about {label}:',
};

/** TREC coarse classes as words the prompt can use. */
const TREC_LABELS: Record<string, string> = {
  ABBR: 'an abbreviation',
  DESC: 'a description',
  ENTY: 'a thing',
  HUM: 'a person',
  LOC: 'a place',
  NUM: 'a number',
};
const AGNEWS_LABELS = ['world', 'sports', 'business', 'science and technology'];
const DBPEDIA_LABELS = [
  'a company',
  'a school',
  'an artist',
  'an athlete',
  'a politician',
  'a vehicle',
  'a building',
  'a natural place',
  'a village',
  'an animal',
  'a plant',
  'an album',
  'a film',
  'a book',
];

function clean(text: string, maxWords = Infinity): string {
  const words = text.replace(/\\/g, ' ').replace(/\s+/g, ' ').trim().split(' ');
  return words.slice(0, maxWords).join(' ');
}

/**
 * A seeded, stratified split: each label's examples are shuffled and the first
 * `round(share * count)` go to the second part. Returns [first, second].
 */
export function stratifiedSplit(examples: readonly Example[], share: number, seed: number): [Example[], Example[]] {
  const random = new SeededRandom(seed);
  const byLabel = new Map<string, Example[]>();
  for (const example of examples) byLabel.set(example.label, [...(byLabel.get(example.label) ?? []), example]);
  const first: Example[] = [];
  const second: Example[] = [];
  for (const label of [...byLabel.keys()].sort()) {
    const group = random.shuffle([...byLabel.get(label)!]);
    const cut = Math.round(share * group.length);
    second.push(...group.slice(0, cut));
    first.push(...group.slice(cut));
  }
  return [first, second];
}

/** A seeded, stratified subsample of about `count` examples (every label keeps its share, at least one). */
export function stratifiedSample(examples: readonly Example[], count: number, seed: number): Example[] {
  if (count >= examples.length) return [...examples];
  return stratifiedSplit(examples, count / examples.length, seed)[1];
}

function requireFile(path: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing (the evaluation sets live in ../shared/data/eval; see its README)`);
  return path;
}

/** Loads a task from the shared evaluation sets, split (AG News, DBPedia) with `seed`. */
export function loadTask(name: TaskName, dataDir: string, seed: number): Task {
  if (name === 'trec') {
    const read = (file: string) =>
      readFileSync(requireFile(join(dataDir, 'trec', file)), 'utf8')
        .split('\n')
        .filter((line) => line.trim())
        .map((line) => {
          const space = line.indexOf(' ');
          return { label: TREC_LABELS[line.slice(0, space).split(':')[0]!]!, text: clean(line.slice(space + 1)) };
        });
    return {
      name,
      description: 'TREC question classification, 6 coarse classes (Li and Roth 2002): private = the 5,452 training questions, test = the 500 official test questions',
      privatePart: read('train.txt'),
      test: read('test.txt'),
      promptTemplate: TEMPLATES.trec,
    };
  }
  if (name === 'agnews') {
    const rows = parse(readFileSync(requireFile(join(dataDir, 'agnews', 'test.csv'))), { columns: true }) as { 'Class Index': string; Title: string; Description: string }[];
    const examples = rows.map((row) => ({ label: AGNEWS_LABELS[Number(row['Class Index']) - 1]!, text: clean(`${row.Title}. ${row.Description}`, MAX_WORDS) }));
    const [privatePart, test] = stratifiedSplit(examples, 0.25, seed);
    return {
      name,
      description: `AG News, 4 classes: the official 7,600-example test split, title and description cut to ${MAX_WORDS} words, split seeded and stratified into 75% private and 25% held-out test`,
      privatePart,
      test,
      promptTemplate: TEMPLATES.agnews,
    };
  }
  const rows = readFileSync(requireFile(join(dataDir, 'dbpedia', 'train.csv')), 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const comma = line.indexOf(',');
      return { label: DBPEDIA_LABELS[Number(line.slice(0, comma))]!, text: clean(line.slice(comma + 1), MAX_WORDS) };
    });
  const [privatePart, test] = stratifiedSplit(rows, 0.2, seed);
  return {
    name,
    description: `DBPedia ontology, 14 classes: the 14,000-example subset, text cut to ${MAX_WORDS} words, split seeded and stratified into 80% private and 20% held-out test`,
    privatePart,
    test,
    promptTemplate: TEMPLATES.dbpedia,
  };
}

/** Reads `{"text": ..., "label": ...}` per line. */
export function readJsonl(path: string): Example[] {
  return readFileSync(requireFile(path), 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line, index) => {
      const value = JSON.parse(line) as { text?: unknown; label?: unknown };
      if (typeof value.text !== 'string' || (typeof value.label !== 'string' && typeof value.label !== 'number')) {
        throw new Error(`${path} line ${index + 1}: needs a string "text" and a string or number "label"`);
      }
      return { text: value.text, label: String(value.label) };
    });
}

/** A task from two JSONL files. */
export function jsonlTask(trainPath: string, testPath: string, name = basename(trainPath).replace(/\.jsonl$/, '')): Task {
  return {
    name,
    description: `${trainPath} (private) and ${testPath} (test)`,
    privatePart: readJsonl(trainPath),
    test: readJsonl(testPath),
    promptTemplate: TEMPLATES.jsonl,
  };
}
