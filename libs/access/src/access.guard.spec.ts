import 'reflect-metadata';
import { type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Can, Public } from './access.decorators';
import { AccessGuard, type ActorResolver } from './access.guard';
import { type Actor } from './actor';
import { AccessError } from './access.errors';

class Operations {
  @Can('create', 'Dataset')
  createDataset(): void {}

  @Public()
  health(): void {}

  undeclared(): void {}
}

const consumer: Actor = { userId: 'u', organizationId: 'o', role: 'CONSUMER', tokenId: 't', scopes: ['read', 'write'] };
const owner: Actor = { ...consumer, role: 'DATA_OWNER' };

function contextFor(handler: keyof Operations, request: Record<string, unknown>): ExecutionContext {
  return {
    getType: () => 'http',
    getHandler: () => Operations.prototype[handler],
    getClass: () => Operations,
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
}

function guardFor(actor: Actor | null): { guard: AccessGuard; calls: () => number } {
  let calls = 0;
  const resolver: ActorResolver = {
    resolve: async () => {
      calls++;
      if (!actor) throw AccessError.unauthenticated();
      return actor;
    },
  };
  return { guard: new AccessGuard(new Reflector(), resolver), calls: () => calls };
}

async function outcome(promise: Promise<boolean>): Promise<string> {
  try {
    return (await promise) ? 'allowed' : 'refused';
  } catch (error) {
    return (error as AccessError).code;
  }
}

describe('AccessGuard', () => {
  it('refuses an operation that declares no permission, whoever calls', async () => {
    const { guard, calls } = guardFor(owner);
    expect(await outcome(guard.canActivate(contextFor('undeclared', { headers: {} })))).toBe('FORBIDDEN');
    expect(calls()).toBe(0);
  });

  it('lets anyone through a public operation without resolving a token', async () => {
    const { guard, calls } = guardFor(null);
    expect(await outcome(guard.canActivate(contextFor('health', { headers: {} })))).toBe('allowed');
    expect(calls()).toBe(0);
  });

  it('needs a token for a @Can operation', async () => {
    expect(await outcome(guardFor(null).guard.canActivate(contextFor('createDataset', { headers: {} })))).toBe('UNAUTHENTICATED');
  });

  it('checks the declared action against the role, and leaves actor and ability on the request', async () => {
    expect(await outcome(guardFor(consumer).guard.canActivate(contextFor('createDataset', { headers: {} })))).toBe('FORBIDDEN');
    const request: Record<string, unknown> = { headers: {} };
    expect(await outcome(guardFor(owner).guard.canActivate(contextFor('createDataset', request)))).toBe('allowed');
    expect(request.actor).toBe(owner);
    expect(request.ability).toBeDefined();
  });
});
