import 'reflect-metadata';
import { type Action, type Actor, defineAbilityFor, PERMISSION_KEY, type PermissionDeclaration, type Role, scopeFor, type SubjectType } from '@synthgate/access';
import { controllers, resolvers } from './gateway.module';

type Handler = (...args: unknown[]) => unknown;

const roles: Role[] = ['OPERATOR', 'ADMIN', 'DATA_OWNER', 'CONSUMER', 'COMPLIANCE'];
const reachNames: Record<string, string> = { organizationId: 'own organisation', userId: 'self', id: 'itself', publishedTo: 'published to it' };

/** How far a role's grant of the declared action reaches: any, own organisation, self, ... */
function reach(role: Role, declaration: { readonly action: Action; readonly subject: SubjectType }): string | null {
  const actor: Actor = { userId: 'self', organizationId: 'own', role, tokenId: 'token', scopes: ['read', 'write'] };
  const scope = scopeFor(defineAbilityFor(actor), declaration.action, declaration.subject);
  if (scope.kind === 'none') return null;
  if (scope.kind === 'all') return `${role} any`;
  return `${role} ${scope.anyOf.map((condition) => Object.keys(condition).map((field) => reachNames[field] ?? field).join('+')).join('|')}`;
}

/** `action subject [ROLE reach, ...]`: the declaration and, per role, how far the ability lets it reach. */
function describeDeclaration(declaration: PermissionDeclaration | undefined): string {
  if (!declaration) return 'UNDECLARED';
  if ('public' in declaration) return 'public';
  const reaches = roles.map((role) => reach(role, declaration)).filter((line) => line !== null);
  // createApiToken also serves the operator's audited `issue` (a token for someone else, with a reason).
  const issue = declaration.subject === 'ApiToken' && declaration.action === 'create' ? roles.map((role) => reach(role, { action: 'issue', subject: 'ApiToken' })).filter((line) => line !== null) : [];
  return `${declaration.action} ${declaration.subject} [${reaches.join(', ')}]${issue.length ? ` issue, audited with a reason [${issue.join(', ')}]` : ''}`;
}

function methodsOf(target: abstract new (...args: never[]) => unknown): [string, Handler][] {
  const prototype = target.prototype as Record<string, unknown>;
  return Object.getOwnPropertyNames(prototype)
    .filter((name) => name !== 'constructor' && typeof prototype[name] === 'function')
    .map((name) => [name, prototype[name] as Handler]);
}

/** Every GraphQL operation and REST route with the permission it declares, one line each. */
export function permissionTable(): string[] {
  const lines: string[] = [];
  for (const resolver of resolvers) {
    for (const [name, handler] of methodsOf(resolver)) {
      const type = Reflect.getMetadata('graphql:resolver_type', handler) as string | undefined;
      if (type !== 'Query' && type !== 'Mutation') continue;
      const operation = (Reflect.getMetadata('graphql:resolver_name', handler) as string | undefined) ?? name;
      const declaration =
        (Reflect.getMetadata(PERMISSION_KEY, handler) as PermissionDeclaration | undefined) ??
        (Reflect.getMetadata(PERMISSION_KEY, resolver) as PermissionDeclaration | undefined);
      lines.push(`${type}.${operation}: ${describeDeclaration(declaration)}`);
    }
  }
  const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'ALL', 'OPTIONS', 'HEAD'];
  for (const controller of controllers) {
    const prefix = Reflect.getMetadata('path', controller) as string;
    for (const [, handler] of methodsOf(controller)) {
      const path = Reflect.getMetadata('path', handler) as string | undefined;
      if (path === undefined) continue;
      const method = methods[Reflect.getMetadata('method', handler) as number];
      const route = `/${[prefix, path].filter((part) => part && part !== '/').join('/')}`;
      const declaration =
        (Reflect.getMetadata(PERMISSION_KEY, handler) as PermissionDeclaration | undefined) ??
        (Reflect.getMetadata(PERMISSION_KEY, controller) as PermissionDeclaration | undefined);
      lines.push(`${method} ${route}: ${describeDeclaration(declaration)}`);
    }
  }
  return lines.sort();
}

