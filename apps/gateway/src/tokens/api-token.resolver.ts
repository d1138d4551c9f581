import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { type Actor, Can, CurrentActor } from '@synthgate/access';
import { PageArgs, pageRequest, toConnection } from '../graphql/pagination';
import { ApiTokenService } from './api-token.service';
import { ApiToken, ApiTokenConnection, CreateApiTokenInput, CreatedApiToken, toApiToken } from './api-token.types';

@Resolver(() => ApiToken)
export class ApiTokenResolver {
  constructor(private readonly apiTokenService: ApiTokenService) {}

  @Query(() => ApiTokenConnection, { description: 'Tokens the caller may see: its own, or everyone\'s for admins.' })
  @Can('read', 'ApiToken')
  async apiTokens(
    @CurrentActor() actor: Actor,
    @Args() page: PageArgs,
    @Args('userId', { type: () => ID, nullable: true }) userId?: string | null,
  ) {
    return toConnection(await this.apiTokenService.list(actor, userId ?? null, pageRequest(page)), toApiToken);
  }

  @Mutation(() => CreatedApiToken)
  @Can('create', 'ApiToken')
  async createApiToken(@CurrentActor() actor: Actor, @Args('input') input: CreateApiTokenInput) {
    const { token, secret } = await this.apiTokenService.create(actor, input);
    return { token: toApiToken(token), secret };
  }

  @Mutation(() => ApiToken)
  @Can('revoke', 'ApiToken')
  async revokeApiToken(@CurrentActor() actor: Actor, @Args('id', { type: () => ID }) id: string) {
    return toApiToken(await this.apiTokenService.revoke(actor, id));
  }
}
