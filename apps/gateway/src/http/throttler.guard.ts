import { createHash } from 'node:crypto';
import { type ExecutionContext, Injectable } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import { ThrottlerGuard } from '@nestjs/throttler';

/** Rate limits per token (per client address without one), over GraphQL and REST alike. */
@Injectable()
export class GatewayThrottlerGuard extends ThrottlerGuard {
  protected override getRequestResponse(context: ExecutionContext): { req: Record<string, unknown>; res: Record<string, unknown> } {
    if (context.getType<string>() === 'graphql') {
      const { req } = GqlExecutionContext.create(context).getContext<{ req: Record<string, unknown> & { res: Record<string, unknown> } }>();
      return { req, res: req.res };
    }
    return super.getRequestResponse(context);
  }

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    const headers = request.headers as Record<string, string | undefined>;
    const authorization = headers.authorization;
    if (authorization) return `token:${createHash('sha256').update(authorization).digest('hex').slice(0, 32)}`;
    return `ip:${String(request.ip)}`;
  }
}
