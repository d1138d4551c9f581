import { buildSchema, Kind, type OperationDefinitionNode, parse } from 'graphql';
import { operationLabel } from './graphql-metrics.plugin';

const schema = buildSchema(`
  type Query { release(id: ID!): String, releases: [String] }
  type Mutation { createRelease(name: String): String }
`);

function label(document: string): string {
  const operation = parse(document).definitions.find((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION)!;
  return operationLabel(operation, schema);
}

describe('operationLabel', () => {
  it.each([
    ['query Anything { release(id: "1") }', 'release'],
    ['{ r: release(id: "1") __typename }', 'release'],
    ['mutation SecretDatasetName { createRelease(name: "a record text") }', 'createRelease'],
    ['{ release(id: "1") releases }', 'multiple'],
    ['{ ... on Query { releases } }', 'multiple'],
    ['{ __schema { types { name } } }', 'introspection'],
    ['{ __typename }', 'introspection'],
    ['{ notInTheSchema }', 'unknown'],
  ])('%s -> %s (the root field, never the client operation name or arguments)', (document, expected) => {
    expect(label(document)).toBe(expected);
  });
});
