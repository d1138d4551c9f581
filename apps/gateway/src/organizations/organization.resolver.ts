import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { type Actor, Can, CurrentActor } from '@synthgate/access';
import { PageArgs, pageRequest, toConnection } from '../graphql/pagination';
import { OrganizationService } from './organization.service';
import { CreateOrganizationInput, Organization, OrganizationConnection, toOrganization } from './organization.types';

@Resolver(() => Organization)
export class OrganizationResolver {
  constructor(private readonly organizationService: OrganizationService) {}

  @Query(() => OrganizationConnection, { description: 'Organisations the caller may see.' })
  @Can('read', 'Organization')
  async organizations(@CurrentActor() actor: Actor, @Args() page: PageArgs) {
    return toConnection(await this.organizationService.list(actor, pageRequest(page)), toOrganization);
  }

  @Query(() => Organization)
  @Can('read', 'Organization')
  async organization(@CurrentActor() actor: Actor, @Args('id', { type: () => ID }) id: string) {
    return toOrganization(await this.organizationService.get(actor, id));
  }

  @Mutation(() => Organization)
  @Can('create', 'Organization')
  async createOrganization(@CurrentActor() actor: Actor, @Args('input') input: CreateOrganizationInput) {
    return toOrganization(await this.organizationService.create(actor, input.name));
  }
}
