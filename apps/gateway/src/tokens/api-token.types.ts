import { Field, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { type ApiTokenEntity, type TokenScope } from '@synthgate/persistence';
import { Connection } from '../graphql/pagination';

export const TokenScopeEnum = { read: 'read', write: 'write' } as const satisfies Record<TokenScope, TokenScope>;
registerEnumType(TokenScopeEnum, { name: 'TokenScope', description: 'read: queries only; write: also mutations and imports.' });

@ObjectType({ description: 'An API token. Its secret is shown once, when it is created, and never stored.' })
export class ApiToken {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field({ description: 'The first characters of the secret, to tell tokens apart.' })
  prefix!: string;

  @Field(() => ID)
  userId!: string;

  @Field(() => [TokenScopeEnum])
  scopes!: TokenScope[];

  @Field()
  expiresAt!: Date;

  @Field(() => Date, { nullable: true })
  revokedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  lastUsedAt!: Date | null;

  @Field()
  createdAt!: Date;
}

export const ApiTokenConnection = Connection(ApiToken, 'ApiToken');

@ObjectType()
export class CreatedApiToken {
  @Field(() => ApiToken)
  token!: ApiToken;

  @Field({ description: 'The secret to send as `Authorization: Bearer <secret>`. Shown only this once.' })
  secret!: string;
}

@InputType()
export class CreateApiTokenInput {
  @Field(() => ID, { nullable: true, description: 'Whose token; defaults to the caller. An ADMIN creates tokens for its organisation; a platform OPERATOR issues them for others only with a reason.' })
  userId?: string | null;

  @Field()
  name!: string;

  @Field(() => [TokenScopeEnum], { nullable: true, description: 'Defaults to [read, write].' })
  scopes?: TokenScope[] | null;

  @Field(() => Int, { nullable: true, description: 'Lifetime in days, 1 to 3650 (default API_TOKEN_DEFAULT_TTL_DAYS).' })
  expiresInDays?: number | null;

  @Field(() => String, {
    nullable: true,
    description: "Required when a platform operator issues a token for another user (10 to 500 characters): recorded, with the operator, in that user's organisation's audit log.",
  })
  reason?: string | null;
}

export function toApiToken(entity: ApiTokenEntity): ApiToken {
  return {
    id: entity.id,
    name: entity.name,
    prefix: entity.prefix,
    userId: entity.userId,
    scopes: entity.scopes,
    expiresAt: entity.expiresAt,
    revokedAt: entity.revokedAt,
    lastUsedAt: entity.lastUsedAt,
    createdAt: entity.createdAt,
  };
}
