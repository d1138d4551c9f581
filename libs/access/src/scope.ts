import { type Action, type AppAbility, type SubjectType } from './ability';

/**
 * Which rows of a subject type a list query may return, derived from the same rules that decide
 * single instances, so a repository's WHERE clause and `ability.can` cannot disagree
 * (scope.spec.ts checks both on every role).
 */
export type AccessScope =
  | { readonly kind: 'all' }
  | { readonly kind: 'none' }
  | {
      readonly kind: 'where';
      /** OR of conditions, each an AND of field equalities (array fields: contains). */
      readonly anyOf: readonly Readonly<Record<string, string>>[];
    };

export function scopeFor(ability: AppAbility, action: Action, type: SubjectType): AccessScope {
  const rules = ability.rulesFor(action, type);
  const anyOf: Record<string, string>[] = [];
  for (const rule of rules) {
    if (rule.inverted) {
      // Inverted rules here only ever remove a whole action (read-only tokens): nothing is allowed.
      if (!rule.conditions) return { kind: 'none' };
      throw new Error(`scopeFor: conditional 'cannot' rules are not supported (${action} ${type})`);
    }
    if (!rule.conditions) return { kind: 'all' };
    const condition: Record<string, string> = {};
    for (const [field, value] of Object.entries(rule.conditions)) {
      if (typeof value !== 'string') throw new Error(`scopeFor: unsupported condition on ${type}.${field}`);
      condition[field] = value;
    }
    anyOf.push(condition);
  }
  return anyOf.length === 0 ? { kind: 'none' } : { kind: 'where', anyOf };
}
