import { Args, Int, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { Can } from '@synthgate/access';
import { ModelCatalogService } from '../releases/model-catalog.service';
import { Model, ModelMemory, toModel, toModelMemory } from './model.types';

@Resolver(() => Model)
export class ModelResolver {
  constructor(private readonly catalog: ModelCatalogService) {}

  @Query(() => [Model], { description: 'The model catalogue: every model folder in MODELS_DIR, by name.' })
  @Can('plan', 'Release')
  models(): Model[] {
    return this.catalog.catalogue().map((card) => toModel(card, this.catalog.defaultModel));
  }

  @ResolveField(() => ModelMemory, { nullable: true, description: 'Memory a release batch of expectedBatchSize records, promptTokens + maxTokens positions, needs on a worker; planRelease refuses what does not fit.' })
  memory(
    @Parent() model: Model,
    @Args('expectedBatchSize', { type: () => Int }) expectedBatchSize: number,
    @Args('maxTokens', { type: () => Int }) maxTokens: number,
    @Args('promptTokens', { type: () => Int, nullable: true, description: 'Default 64.' }) promptTokens?: number | null,
  ): ModelMemory {
    return toModelMemory(this.catalog.releaseMemory(model.name, expectedBatchSize, promptTokens ?? 64, maxTokens));
  }
}
