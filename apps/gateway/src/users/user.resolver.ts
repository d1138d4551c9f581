import { Args, ID, Mutation, Parent, Query, ResolveField, Resolver, Context } from '@nestjs/graphql';
import { type Actor, Can, CurrentActor } from '@synthgate/access';
import { type GraphQLContext } from '../graphql/loaders';
import { PageArgs, pageRequest, toConnection } from '../graphql/pagination';
import { Organization, toOrganization } from '../organizations/organization.types';
import { UserService } from './user.service';
import { CreateUserInput, UpdateUserInput, User, UserConnection, toUser } from './user.types';

@Resolver(() => User)
export class UserResolver {
  constructor(private readonly userService: UserService) {}

  @Query(() => User, { description: 'The caller.' })
  @Can('read', 'User')
  async me(@CurrentActor() actor: Actor) {
    return toUser(await this.userService.me(actor));
  }

  @Query(() => UserConnection)
  @Can('read', 'User')
  async users(
    @CurrentActor() actor: Actor,
    @Args() page: PageArgs,
    @Args('organizationId', { type: () => ID, nullable: true }) organizationId?: string | null,
  ) {
    return toConnection(await this.userService.list(actor, organizationId ?? null, pageRequest(page)), toUser);
  }

  @Query(() => User)
  @Can('read', 'User')
  async user(@CurrentActor() actor: Actor, @Args('id', { type: () => ID }) id: string) {
    return toUser(await this.userService.get(actor, id));
  }

  @Mutation(() => User)
  @Can('create', 'User')
  async createUser(@CurrentActor() actor: Actor, @Args('input') input: CreateUserInput) {
    return toUser(await this.userService.create(actor, input));
  }

  @Mutation(() => User)
  @Can('update', 'User')
  async updateUser(@CurrentActor() actor: Actor, @Args('input') input: UpdateUserInput) {
    return toUser(await this.userService.update(actor, input));
  }

  @ResolveField(() => Organization, { nullable: true })
  async organization(@Parent() user: User, @Context() context: GraphQLContext) {
    const organization = await context.loaders.organizations.load(user.organizationId);
    return organization ? toOrganization(organization) : null;
  }
}
