import { Args, Context, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { type Actor, Can, CurrentActor } from '@synthgate/access';
import { type GraphQLContext } from '../graphql/loaders';
import { PageArgs, pageRequest, toConnection } from '../graphql/pagination';
import { Organization, toOrganization } from '../organizations/organization.types';
import { DatasetService } from './dataset.service';
import {
  CreateDatasetInput,
  Dataset,
  DatasetConnection,
  SensitiveRecordConnection,
  toDataset,
  toSensitiveRecord,
  UpdateDatasetInput,
} from './dataset.types';

@Resolver(() => Dataset)
export class DatasetResolver {
  constructor(private readonly datasetService: DatasetService) {}

  @Query(() => DatasetConnection, { description: "Datasets of the caller's organisation." })
  @Can('read', 'Dataset')
  async datasets(
    @CurrentActor() actor: Actor,
    @Args() page: PageArgs,
    @Args('includeArchived', { type: () => Boolean, nullable: true }) includeArchived?: boolean | null,
  ) {
    return toConnection(await this.datasetService.list(actor, includeArchived ?? false, pageRequest(page)), toDataset);
  }

  @Query(() => Dataset, { nullable: true, description: 'NOT_FOUND when the caller may not see it.' })
  @Can('read', 'Dataset')
  async dataset(@CurrentActor() actor: Actor, @Args('id', { type: () => ID }) id: string) {
    return toDataset(await this.datasetService.find(actor, id));
  }

  @Mutation(() => Dataset)
  @Can('create', 'Dataset')
  async createDataset(@CurrentActor() actor: Actor, @Args('input') input: CreateDatasetInput) {
    return toDataset(await this.datasetService.create(actor, input));
  }

  @Mutation(() => Dataset)
  @Can('update', 'Dataset')
  async updateDataset(@CurrentActor() actor: Actor, @Args('input') input: UpdateDatasetInput) {
    return toDataset(await this.datasetService.update(actor, input));
  }

  @Mutation(() => Dataset)
  @Can('archive', 'Dataset')
  async archiveDataset(@CurrentActor() actor: Actor, @Args('id', { type: () => ID }) id: string) {
    return toDataset(await this.datasetService.archive(actor, id));
  }

  @ResolveField(() => SensitiveRecordConnection, { description: 'Record text: DATA_OWNERs of the organisation only; every read is audited.' })
  async records(
    @CurrentActor() actor: Actor,
    @Parent() dataset: Dataset,
    @Args() page: PageArgs,
    @Args('label', { type: () => String, nullable: true }) label?: string | null,
  ) {
    return toConnection(await this.datasetService.records(actor, dataset.id, label ?? null, pageRequest(page)), toSensitiveRecord);
  }

  @ResolveField(() => Organization, { nullable: true })
  async organization(@Parent() dataset: Dataset, @Context() context: GraphQLContext) {
    const organization = await context.loaders.organizations.load(dataset.organizationId);
    return organization ? toOrganization(organization) : null;
  }
}
