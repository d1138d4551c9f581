import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RecordSchema, type StructuredRecord } from '@synthgate/records';

/**
 * The MIT Movies structured task (issue 18): each query of `../shared/data/eval/mit-movies`
 * (`word:BIO-tag ...`, one a line) becomes a record with the query text and its slots as fields.
 * The schema is public metadata: the genre values are the train split's most frequent genres plus
 * `other`, and `none` when the query names none.
 */

/** One query's words and slots (first span of each slot type, words joined by spaces). */
export interface TaggedQuery {
  readonly query: string;
  readonly slots: ReadonlyMap<string, string>;
}

export function parseTaggedLine(line: string): TaggedQuery {
  const words: string[] = [];
  const slots = new Map<string, string>();
  let open: string | null = null;
  let span: string[] = [];
  const close = () => {
    if (open !== null && !slots.has(open)) slots.set(open, span.join(' '));
    open = null;
    span = [];
  };
  for (const token of line.split(' <=> ')[0]!.trim().split(/\s+/)) {
    const at = token.lastIndexOf(':');
    const word = token.slice(0, at);
    const tag = token.slice(at + 1);
    words.push(word);
    if (tag.startsWith('I-') && open === tag.slice(2)) span.push(word);
    else {
      close();
      if (tag.startsWith('B-') || tag.startsWith('I-')) {
        open = tag.slice(2);
        span = [word];
      }
    }
  }
  close();
  return { query: words.join(' '), slots };
}

export function loadTaggedFile(dataDir: string, split: 'train' | 'valid' | 'test'): TaggedQuery[] {
  return readFileSync(join(dataDir, 'mit-movies', split), 'utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map(parseTaggedLine);
}

/** The declared schema: genres from the train split's `genreCount` most frequent values. */
export function movieSchema(train: readonly TaggedQuery[], genreCount = 8): RecordSchema {
  const counts = new Map<string, number>();
  for (const query of train) {
    const genre = query.slots.get('Genre');
    if (genre) counts.set(genre, (counts.get(genre) ?? 0) + 1);
  }
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, genreCount).map(([genre]) => genre);
  return {
    fields: [
      { name: 'query', optional: false, type: { kind: 'text', maxTokens: 24 } },
      { name: 'genre', optional: false, type: { kind: 'category', values: [...top, 'other', 'none'] } },
      { name: 'year', optional: true, type: { kind: 'integer', min: 1920, max: 2025 } },
      { name: 'director', optional: true, type: { kind: 'text', maxTokens: 6 } },
      { name: 'actor', optional: true, type: { kind: 'text', maxTokens: 6 } },
    ],
    conditionField: null,
  };
}

/** A query as a record of the schema (a year that is not a four-digit year in range is null). */
export function movieRecord(schema: RecordSchema, query: TaggedQuery): StructuredRecord {
  const genres = (schema.fields.find((f) => f.name === 'genre')!.type as { values: readonly string[] }).values;
  const genre = query.slots.get('Genre');
  const yearText = query.slots.get('Year') ?? '';
  const year = /^\d{4}$/.test(yearText) && Number(yearText) >= 1920 && Number(yearText) <= 2025 ? Number(yearText) : null;
  return {
    query: query.query,
    genre: genre === undefined ? 'none' : genres.includes(genre) ? genre : 'other',
    year,
    director: query.slots.get('Director') ?? null,
    actor: query.slots.get('Actor') ?? null,
  };
}

/** The bucket of each field's value for marginal distances (text fields: present or not, and length). */
export function fieldBuckets(record: StructuredRecord): Record<string, string> {
  const words = (value: unknown) => (typeof value === 'string' ? value.split(/\s+/).filter(Boolean).length : 0);
  const length = words(record['query']);
  return {
    query: length <= 6 ? '1-6 words' : length <= 10 ? '7-10 words' : length <= 15 ? '11-15 words' : '16+ words',
    genre: String(record['genre']),
    year: record['year'] === null || record['year'] === undefined ? 'null' : `${Math.floor(Number(record['year']) / 10) * 10}s`,
    director: record['director'] === null || record['director'] === undefined ? 'null' : 'present',
    actor: record['actor'] === null || record['actor'] === undefined ? 'null' : 'present',
  };
}

/** Total-variation distance between the empirical distributions of two bucket lists. */
export function totalVariation(a: readonly string[], b: readonly string[]): number {
  const p = new Map<string, number>();
  for (const x of a) p.set(x, (p.get(x) ?? 0) + 1 / a.length);
  const q = new Map<string, number>();
  for (const x of b) q.set(x, (q.get(x) ?? 0) + 1 / b.length);
  let sum = 0;
  for (const key of new Set([...p.keys(), ...q.keys()])) sum += Math.abs((p.get(key) ?? 0) - (q.get(key) ?? 0));
  return sum / 2;
}

/**
 * Whether the record's slot values appear in its query (case-insensitive): `[found, slots]` over
 * director, actor, year and a declared genre (not `other` / `none`).
 */
export function slotsInText(record: StructuredRecord): [number, number] {
  const query = String(record['query'] ?? '').toLowerCase();
  let found = 0;
  let total = 0;
  for (const name of ['director', 'actor', 'year', 'genre']) {
    const value = record[name];
    if (value === null || value === undefined || value === 'other' || value === 'none') continue;
    total += 1;
    if (query.includes(String(value).toLowerCase())) found += 1;
  }
  return [found, total];
}
