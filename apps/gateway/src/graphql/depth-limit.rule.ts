import { type FieldNode, type FragmentDefinitionNode, GraphQLError, Kind, type OperationDefinitionNode, type SelectionSetNode, type ValidationRule } from 'graphql';

/**
 * The deepest field of `operation` beyond `maxDepth`, or null. Depth counts nested selection
 * sets of fields (fragments add none; introspection fields `__*` are not counted).
 *
 * Walks with an explicit stack and visits each selection set at most once per depth, so a
 * fragment cycle (reported by graphql's own NoFragmentCyclesRule), an unknown fragment or a
 * 1,000-fragment chain costs bounded work and no call stack (graphql-depth-limit recursed
 * through fragment cycles until the stack overflowed).
 */
export function fieldBeyondDepth(operation: OperationDefinitionNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>, maxDepth: number): FieldNode | null {
  const seen = new Map<SelectionSetNode, Set<number>>();
  const stack: { set: SelectionSetNode; depth: number }[] = [{ set: operation.selectionSet, depth: 0 }];
  while (stack.length > 0) {
    const { set, depth } = stack.pop()!;
    const depths = seen.get(set) ?? new Set<number>();
    if (depths.has(depth)) continue;
    depths.add(depth);
    seen.set(set, depths);
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (!selection.selectionSet || selection.name.value.startsWith('__')) continue;
        if (depth + 1 > maxDepth) return selection;
        stack.push({ set: selection.selectionSet, depth: depth + 1 });
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        stack.push({ set: selection.selectionSet, depth });
      } else {
        const fragment = fragments.get(selection.name.value);
        if (fragment) stack.push({ set: fragment.selectionSet, depth });
      }
    }
  }
  return null;
}

/** Refuses operations nested deeper than `maxDepth` (GRAPHQL_MAX_DEPTH) as a validation error (400). */
export function depthLimitRule(maxDepth: number): ValidationRule {
  return (context) => {
    const { definitions } = context.getDocument();
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    for (const definition of definitions) {
      if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
      const field = fieldBeyondDepth(definition, fragments, maxDepth);
      if (field) {
        context.reportError(new GraphQLError(`'${definition.name?.value ?? ''}' exceeds maximum operation depth of ${maxDepth} (GRAPHQL_MAX_DEPTH)`, { nodes: [field] }));
      }
    }
    return {};
  };
}
