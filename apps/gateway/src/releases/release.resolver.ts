import { Args, Context, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { type Actor, Can, CurrentActor } from '@synthgate/access';
import { type ReleaseEntity } from '@synthgate/persistence';
import { type RecordSchema as DeclaredSchema } from '@synthgate/records';
import { RecordSchema, toRecordSchema } from '../datasets/record-schema.types';
import { FIELD_COSTS } from '../graphql/field-costs';
import { type GraphQLContext } from '../graphql/loaders';
import { PageArgs, pageRequest, toConnection } from '../graphql/pagination';
import { Organization, toOrganization } from '../organizations/organization.types';
import { toPrivacyCost, toQualityReport, toRelease, toReleaseParameters } from './release.mapper';
import { ReleaseQualityReport } from './release-quality.types';
import { ReleaseService } from './release.service';
import {
  Release,
  ReleaseConnection,
  ReleaseFilter,
  ReleaseInput,
  ReleasePlan,
  SyntheticRecordConnection,
  toSyntheticRecord,
} from './release.types';

@Resolver(() => Release)
export class ReleaseResolver {
  constructor(private readonly releaseService: ReleaseService) {}

  @Query(() => ReleasePlan, { description: 'Dry run of createRelease: cost, examples, memory. Debits nothing.', complexity: FIELD_COSTS.releasePlan })
  @Can('plan', 'Release')
  async planRelease(@CurrentActor() actor: Actor, @Args('input') input: ReleaseInput): Promise<ReleasePlan> {
    const plan = await this.releaseService.plan(actor, input);
    const clusters = plan.parameters.batching?.mode === 'CLUSTERED' ? plan.parameters.batching.clusters : null;
    return {
      cost: toPrivacyCost(plan.cost),
      epsilonBefore: plan.epsilonBefore,
      epsilonAfter: plan.epsilonAfter,
      remainingEpsilon: plan.remainingEpsilon,
      admitted: plan.admitted,
      refusal: plan.refusal,
      batches: plan.batches,
      maxBatches: plan.maxBatches,
      expectedExamples: plan.batches,
      labels: plan.labelPlan.map((entry) => ({ label: entry.label, batches: entry.batches, expectedExamplesPerCluster: clusters && entry.batches !== null ? entry.batches / clusters : null })),
      expectedExamplesPerCluster: clusters ? (plan.batches ?? plan.expectedBatches) / (plan.labelPlan.length * clusters) : null,
      expectedBatchSize: plan.mechanism.expectedBatchSize,
      estimatedPromptTokens: plan.estimatedPromptTokens,
      kvCacheBytesPerBatch: plan.kvCacheBytesPerBatch,
      kvCacheLimitBytes: plan.kvCacheLimitBytes,
      workerMemoryBytes: plan.fit.totalBytes,
      workerMemoryLimitBytes: plan.fit.limitBytes,
      parameters: toReleaseParameters(plan.mechanism, plan.parameters),
    };
  }

  @Mutation(() => Release, { description: 'Debit, ledger entry and jobs in one transaction; BUDGET_EXHAUSTED debits nothing.' })
  @Can('create', 'Release')
  async createRelease(@CurrentActor() actor: Actor, @Args('input') input: ReleaseInput, @Context() context: GraphQLContext) {
    const release = await this.releaseService.create(actor, input);
    return this.toRelease(actor, release, await this.datasetName(context, release.datasetId));
  }

  @Mutation(() => Release, { description: 'Refunds the budget only if no batch has read a record yet.' })
  @Can('cancel', 'Release')
  async cancelRelease(@CurrentActor() actor: Actor, @Args('id', { type: () => ID }) id: string, @Context() context: GraphQLContext) {
    const release = await this.releaseService.cancel(actor, id);
    return this.toRelease(actor, release, await this.datasetName(context, release.datasetId));
  }

  @Mutation(() => Release, { description: "Refused (CONFLICT) when the release's quality report exceeds the dataset's replayThreshold, unless overrideReplayCheck (audited)." })
  @Can('publish', 'Release')
  async publishRelease(
    @CurrentActor() actor: Actor,
    @Args('id', { type: () => ID }) id: string,
    @Args('organizationIds', { type: () => [ID] }) organizationIds: string[],
    @Context() context: GraphQLContext,
    @Args('overrideReplayCheck', { type: () => Boolean, nullable: true, description: 'Publish although the replay check fails; written to the audit log.' })
    overrideReplayCheck?: boolean | null,
  ) {
    const release = await this.releaseService.publish(actor, id, organizationIds, overrideReplayCheck ?? false);
    return this.toRelease(actor, release, await this.datasetName(context, release.datasetId));
  }

  @Mutation(() => Release)
  @Can('revoke', 'Release')
  async revokeRelease(
    @CurrentActor() actor: Actor,
    @Args('id', { type: () => ID }) id: string,
    @Args('organizationIds', { type: () => [ID] }) organizationIds: string[],
    @Context() context: GraphQLContext,
  ) {
    const release = await this.releaseService.revoke(actor, id, organizationIds);
    return this.toRelease(actor, release, await this.datasetName(context, release.datasetId));
  }

  @Query(() => ReleaseConnection, { description: "Releases the caller may see: its organisation's, or those published to it." })
  @Can('read', 'Release')
  async releases(
    @CurrentActor() actor: Actor,
    @Args() page: PageArgs,
    @Context() context: GraphQLContext,
    @Args('filter', { type: () => ReleaseFilter, nullable: true }) filter?: ReleaseFilter | null,
  ) {
    const result = await this.releaseService.list(actor, filter ?? {}, pageRequest(page));
    const names = await Promise.all(result.items.map((release) => this.datasetName(context, release.datasetId)));
    return toConnection(
      { ...result, items: result.items.map((release, index) => ({ release, name: names[index]! })) },
      ({ release, name }) => this.toRelease(actor, release, name),
    );
  }

  @Query(() => Release, { nullable: true, description: 'NOT_FOUND when the caller may not see it.' })
  @Can('read', 'Release')
  async release(@CurrentActor() actor: Actor, @Args('id', { type: () => ID }) id: string, @Context() context: GraphQLContext) {
    const release = await this.releaseService.find(actor, id);
    return this.toRelease(actor, release, await this.datasetName(context, release.datasetId));
  }

  @ResolveField(() => SyntheticRecordConnection)
  async records(
    @CurrentActor() actor: Actor,
    @Parent() release: Release,
    @Context() context: GraphQLContext,
    @Args() page: PageArgs,
    @Args('label', { type: () => String, nullable: true }) label?: string | null,
  ) {
    const records = await this.releaseService.records(actor, release.id, label ?? null, pageRequest(page));
    const { recordSchema, structured } = await this.recordShape(context, release.datasetId);
    return toConnection(records, (record) => toSyntheticRecord(record, recordSchema, structured));
  }

  @ResolveField(() => RecordSchema, { description: "The record schema of the release's dataset (public metadata): the fields of its records, in order." })
  async recordSchema(@Parent() release: Release, @Context() context: GraphQLContext): Promise<RecordSchema> {
    return toRecordSchema((await this.recordShape(context, release.datasetId)).recordSchema);
  }

  @ResolveField(() => Boolean, { description: 'True when the dataset is structured: records carry the typed values of several fields; false for text and label.' })
  async structured(@Parent() release: Release, @Context() context: GraphQLContext): Promise<boolean> {
    return (await this.recordShape(context, release.datasetId)).structured;
  }

  @ResolveField(() => [Organization], { description: 'Organisations it is published to (a consumer sees only its own).' })
  async publishedTo(@CurrentActor() actor: Actor, @Parent() release: Release, @Context() context: GraphQLContext) {
    const ids = await this.releaseService.publishedTo(actor, release);
    const organizations = await Promise.all(ids.map((id) => context.loaders.organizations.load(id)));
    return organizations.filter((o) => o !== null).map(toOrganization);
  }

  @ResolveField(() => ReleaseQualityReport, {
    nullable: true,
    description: 'Quality and replay checks, computed from sensitive records when the release succeeded: DATA_OWNER and COMPLIANCE of its organisation only; null for everyone else.',
  })
  async qualityReport(@CurrentActor() actor: Actor, @Parent() release: Release): Promise<ReleaseQualityReport | null> {
    return toQualityReport(await this.releaseService.qualityReport(actor, release));
  }

  @ResolveField(() => ID, { nullable: true, description: 'Who requested it; only for its own organisation.' })
  createdBy(@CurrentActor() actor: Actor, @Parent() release: Release): string | null {
    return this.releaseService.canSeeRequester(actor, release) ? release.createdById : null;
  }

  private toRelease(actor: Actor, release: ReleaseEntity, datasetName: string): Release {
    return toRelease(release, datasetName, { runDetails: this.releaseService.seesRunDetails(actor, release) });
  }

  /** The dataset's schema is public metadata of its releases, as its name is (callers have checked access to the release). */
  private async recordShape(context: GraphQLContext, datasetId: string): Promise<{ recordSchema: DeclaredSchema; structured: boolean }> {
    const dataset = await context.loaders.datasets.load(datasetId);
    if (!dataset) throw new Error(`release of a missing dataset ${datasetId}`);
    return { recordSchema: dataset.recordSchema, structured: dataset.structured };
  }

  private async datasetName(context: GraphQLContext, datasetId: string): Promise<string> {
    return (await context.loaders.datasets.load(datasetId))?.name ?? '';
  }
}
