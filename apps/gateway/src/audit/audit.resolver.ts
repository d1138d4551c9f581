import { Args, Query, Resolver } from '@nestjs/graphql';
import { type Actor, Can, CurrentActor } from '@synthgate/access';
import { PageArgs, pageRequest, toConnection } from '../graphql/pagination';
import { AuditService } from './audit.service';
import { AuditEvent, AuditEventConnection, AuditFilter, toAuditEvent } from './audit.types';

@Resolver(() => AuditEvent)
export class AuditResolver {
  constructor(private readonly auditService: AuditService) {}

  @Query(() => AuditEventConnection, { description: "The audit log of the caller's organisation, newest first." })
  @Can('read', 'AuditEvent')
  async auditEvents(
    @CurrentActor() actor: Actor,
    @Args() page: PageArgs,
    @Args('filter', { type: () => AuditFilter, nullable: true }) filter?: AuditFilter | null,
  ) {
    return toConnection(await this.auditService.list(actor, filter ?? {}, pageRequest(page)), toAuditEvent);
  }
}
