import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { schemaInput } from './dataset.command';

function file(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'synthgate-schema-')), 'schema.json');
  writeFileSync(path, content);
  return path;
}

describe('dataset create --schema', () => {
  it('reshapes a libs/records schema file into the GraphQL input (kind upper case, bounds beside it)', () => {
    const path = file(
      JSON.stringify({
        fields: [
          { name: 'message', type: { kind: 'text', maxTokens: 64, maxChars: 100 } },
          { name: 'priority', type: { kind: 'integer', min: 1, max: 5 }, optional: true },
        ],
        conditionField: null,
      }),
    );
    expect(schemaInput(path)).toEqual({
      conditionField: null,
      fields: [
        { name: 'message', optional: null, kind: 'TEXT', maxTokens: 64, maxChars: 100 },
        { name: 'priority', optional: true, kind: 'INTEGER', min: 1, max: 5 },
      ],
    });
  });

  it('refuses a file that is not JSON, or has no fields list, naming the file', () => {
    expect(() => schemaInput(file('{ fields: '))).toThrow(/cannot read .*schema\.json as JSON/);
    expect(() => schemaInput(file('{"columns": []}'))).toThrow(/must hold an object with a "fields" list/);
  });
});
