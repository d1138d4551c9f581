import { Field, ID, InputType, ObjectType, registerEnumType } from '@nestjs/graphql';
import { type AuditEventEntity, type AuditOutcome } from '@synthgate/persistence';
import GraphQLJSON from '../graphql/json.scalar';
import { Connection } from '../graphql/pagination';

export const AuditOutcomeEnum = { SUCCESS: 'SUCCESS', FAILURE: 'FAILURE', DENIED: 'DENIED' } as const satisfies Record<AuditOutcome, AuditOutcome>;
registerEnumType(AuditOutcomeEnum, { name: 'AuditOutcome' });

@ObjectType({ description: 'Who did what to which subject, when, and how it ended.' })
export class AuditEvent {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { nullable: true })
  actorUserId!: string | null;

  @Field(() => ID, { nullable: true })
  actorTokenId!: string | null;

  @Field()
  action!: string;

  @Field(() => String, { nullable: true })
  subjectType!: string | null;

  @Field(() => String, { nullable: true })
  subjectId!: string | null;

  @Field(() => AuditOutcomeEnum)
  outcome!: AuditOutcome;

  @Field(() => String, { nullable: true })
  requestId!: string | null;

  @Field(() => GraphQLJSON, { description: 'Identifiers and public parameters; never record text or secrets.' })
  details!: Record<string, unknown>;

  @Field()
  createdAt!: Date;
}

export const AuditEventConnection = Connection(AuditEvent, 'AuditEvent');

@InputType()
export class AuditFilter {
  @Field(() => String, { nullable: true, description: 'Exact action, e.g. records.import.' })
  action?: string | null;

  @Field(() => String, { nullable: true, description: 'Action prefix, e.g. release.' })
  actionPrefix?: string | null;

  @Field(() => String, { nullable: true })
  subjectType?: string | null;

  @Field(() => String, { nullable: true })
  subjectId?: string | null;

  @Field(() => ID, { nullable: true })
  actorUserId?: string | null;

  @Field(() => AuditOutcomeEnum, { nullable: true })
  outcome?: AuditOutcome | null;

  @Field(() => Date, { nullable: true })
  since?: Date | null;

  @Field(() => Date, { nullable: true })
  until?: Date | null;
}

export function toAuditEvent(entity: AuditEventEntity): AuditEvent {
  return {
    id: entity.id,
    actorUserId: entity.actorUserId,
    actorTokenId: entity.actorTokenId,
    action: entity.action,
    subjectType: entity.subjectType,
    subjectId: entity.subjectId,
    outcome: entity.outcome,
    requestId: entity.requestId,
    details: entity.details,
    createdAt: entity.createdAt,
  };
}
