/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { join } from 'node:path';
import { SeededRng } from '@synthgate/privacy';
import { type RecordSchema, validateRecord } from '@synthgate/records';
import { type ExampleParams, type GenerationModel, loadModel } from './generation-model';
import { schemaViolation } from './testing/record-oracle';

const SCHEMA: RecordSchema = {
  fields: [
    { name: 'text', optional: false, type: { kind: 'text', maxTokens: 10, maxChars: 40 } },
    { name: 'genre', optional: false, type: { kind: 'category', values: ['comedy', 'horror', 'drama'] } },
    { name: 'year', optional: true, type: { kind: 'integer', min: 1950, max: 2020 } },
  ],
  conditionField: 'genre',
};
const RECORDS = [
  { text: 'funny movies with dogs', genre: 'comedy', year: 1999 },
  { text: 'a scary film in a house', genre: 'horror', year: 1980 },
  { text: 'sad story of a family', genre: 'drama', year: null },
  { text: 'laugh out loud films', genre: 'comedy', year: 2005 },
];
const prompt = (record: object | null) => `Movie search: ${record ? JSON.stringify(record) : ''}\nMovie search:`;

let model: GenerationModel;
let bound: number;
beforeAll(async () => {
  model = await loadModel(join(__dirname, '..', '..', '..', 'models', 'default'), { threads: 1 });
  bound = model.recordTokenBound(SCHEMA);
});
afterAll(async () => {
  await model.release();
});

/** What a setting changes: the drafter, the cap, the non-private reference, the token bound. */
interface Setting {
  readonly drafter?: { readonly threshold: number; readonly sigma: number } | null;
  readonly privateTokenCap?: number;
  readonly nonPrivate?: boolean;
  readonly maxNewTokens?: number;
}

function params(setting: Setting): ExampleParams {
  const common = { expectedBatchSize: 4, temperature: 1, publicTemperature: 1, privateTokenCap: setting.privateTokenCap ?? 200, maxNewTokens: setting.maxNewTokens ?? bound };
  return setting.nonPrivate ? { mechanism: 'non-private-reference', ...common } : { mechanism: 'private-prediction', ...common, clip: 10, drafter: setting.drafter ?? null };
}

describe('structured examples (schema-constrained decoding)', () => {
  const settings: [string, Setting, boolean][] = [
    ['every step private', {}, false],
    ['with the drafter', { drafter: { threshold: 0.5, sigma: 0.1 } }, false],
    ['with the drafter and speculative verification', { drafter: { threshold: 0.5, sigma: 0.1 } }, true],
    ['private-token cap of 3 (public steps finish the record)', { privateTokenCap: 3 }, false],
    ['cap of 3 with speculative verification', { privateTokenCap: 3, drafter: { threshold: 0.5, sigma: 0.1 } }, true],
    ['non-private reference', { nonPrivate: true }, false],
  ];
  it.each(settings)('always gives a record that parses and satisfies the schema: %s', async (_name, overrides, speculative) => {
    for (let seed = 0; seed < 3; seed += 1) {
      const example = await model.generateExample({
        privatePrompts: RECORDS.map(prompt),
        publicPrompt: prompt(null),
        params: params(overrides),
        rng: new SeededRng(`structured-${seed}`),
        record: { schema: SCHEMA },
        ...(speculative ? { speculative: { maxDraftTokens: 4 } } : {}),
      });
      expect(example.record).not.toBeNull();
      expect(JSON.parse(example.text)).toEqual(example.record);
      expect(schemaViolation(SCHEMA, example.record)).toBeNull();
      // libs/records' own check (the import's rules: no blank required text, maxChars) agrees.
      expect(validateRecord(SCHEMA, example.record!, { source: 'json', defaultMaxChars: 10_000 }).problems).toEqual([]);
      // The keys and punctuation are forced: written without sampling, as public steps.
      expect(example.forcedSteps).toBeGreaterThanOrEqual(4);
      expect(example.publicSteps).toBeGreaterThanOrEqual(example.forcedSteps);
      if (overrides.privateTokenCap === 3) {
        expect(example.privateSteps).toBeLessThanOrEqual(3);
        expect(example.stopReason).toBe('private-token-cap');
      }
    }
  });

  it('writes the fixed value of the condition field, and only it', async () => {
    for (const genre of ['comedy', 'horror']) {
      const example = await model.generateExample({
        privatePrompts: RECORDS.map(prompt),
        publicPrompt: prompt(null),
        params: params({}),
        rng: new SeededRng(`fixed-${genre}`),
        record: { schema: SCHEMA, fixed: { genre } },
      });
      expect(example.record!['genre']).toBe(genre);
    }
  });

  it('refuses a maxNewTokens below the schema bound, naming it', async () => {
    await expect(
      model.generateExample({ privatePrompts: [], publicPrompt: prompt(null), params: params({ maxNewTokens: bound - 1 }), rng: new SeededRng('x'), record: { schema: SCHEMA } }),
    ).rejects.toThrow(`params.maxNewTokens must be at least ${bound}`);
  });

  it('leaves text examples as they were (no record)', async () => {
    const example = await model.generateExample({ privatePrompts: ['one day'], publicPrompt: 'one day', params: params({ maxNewTokens: 8 }), rng: new SeededRng('plain') });
    expect(example.record).toBeNull();
  });
});
