import 'reflect-metadata';
import { PERMISSION_KEY, type PermissionDeclaration } from '@synthgate/access';
import { controllers, resolvers } from '../gateway.module';

type Handler = (...args: unknown[]) => unknown;

function describeDeclaration(declaration: PermissionDeclaration | undefined): string {
  if (!declaration) return 'UNDECLARED';
  return 'public' in declaration ? 'public' : `${declaration.action} ${declaration.subject}`;
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

