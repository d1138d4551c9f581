import { buildSchema, parse, specifiedRules, validate } from 'graphql';
import { depthLimitRule } from './depth-limit.rule';

const schema = buildSchema(`
  type Query { me: User, node: Node }
  type User { id: ID!, friend: User, name: String }
  type Node { child: Node, id: ID! }
`);

function errors(query: string, maxDepth: number): string[] {
  return validate(schema, parse(query), [...specifiedRules, depthLimitRule(maxDepth)]).map((error) => error.message);
}

describe('depthLimitRule', () => {
  it('counts nested selection sets of fields, not fragments or introspection', () => {
    expect(errors('{ me { friend { id } } }', 2)).toEqual([]);
    expect(errors('{ me { friend { friend { id } } } }', 2)).toEqual(["'' exceeds maximum operation depth of 2 (GRAPHQL_MAX_DEPTH)"]);
    expect(errors('query Q { me { ...F } } fragment F on User { friend { ... on User { friend { id } } } }', 2)).toEqual([
      "'Q' exceeds maximum operation depth of 2 (GRAPHQL_MAX_DEPTH)",
    ]);
    expect(errors('{ __schema { types { fields { type { ofType { ofType { name } } } } } } }', 2)).toEqual([]);
  });

  it('reports fragment cycles through graphql\'s own rule, without overflowing the stack', () => {
    expect(errors('{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }', 12)).toEqual([
      'Cannot spread fragment "A" within itself via "B".',
    ]);
    // A cycle through a field is also infinitely deep: both rules speak, neither overflows.
    expect(errors('{ me { ...U } } fragment U on User { friend { ...U } }', 12)).toEqual([
      "'' exceeds maximum operation depth of 12 (GRAPHQL_MAX_DEPTH)",
      'Cannot spread fragment "U" within itself.',
    ]);
  });

  it('ignores unknown fragments (KnownFragmentNamesRule names them)', () => {
    expect(errors('{ ...Nowhere }', 12)).toEqual(['Unknown fragment "Nowhere".']);
  });

  it('walks a chain of 20,000 fragments without recursion', () => {
    const count = 20_000;
    const fragments = Array.from({ length: count }, (_, i) => `fragment F${i} on User { id ${i + 1 < count ? `...F${i + 1}` : ''} }`).join('\n');
    const document = parse(`{ me { ...F0 } }\n${fragments}`);
    expect(validate(schema, document, [depthLimitRule(12)])).toEqual([]);
  });
});
