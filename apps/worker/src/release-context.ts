import { Inject, Injectable } from '@nestjs/common';
import { Database, type LabelPlanEntry, type ReleaseWithSecrets } from '@synthgate/persistence';
import { batchOfRecord, type MechanismParameters, type MechanismRegistry, nearestCentroid, referencePartition } from '@synthgate/privacy';
import { type RecordSchema } from '@synthgate/records';
import { recordFeatureVector } from '@synthgate/text-classifier';
import { MECHANISM_REGISTRY } from './mechanisms';

/** The release does not exist or is over: its secrets are erased, and none of its batches may run. */
export class ReleaseOverError extends Error {
  constructor(releaseId: string) {
    super(`release ${releaseId} is over or does not exist`);
    this.name = 'ReleaseOverError';
  }
}

/** What a worker needs to run any batch of one release, computed once per process and release. */
export interface ReleaseContext {
  readonly release: ReleaseWithSecrets;
  /** The release's mechanism parameters as stored (run through the injected registry's entry). */
  readonly mechanism: MechanismParameters;
  readonly promptTemplate: string;
  readonly publicPromptTemplate: string;
  /** Record ids of each batch, by batch ordinal. */
  readonly batches: readonly (readonly string[])[];
  /** A structured dataset's declared schema (each batch generates one record of it); null for text and label. */
  readonly recordSchema: RecordSchema | null;
}

/**
 * Partitions a release's records into its batches as its mechanism's registry entry says: within
 * each label group (or, with CLUSTERED batching, each label's cluster of the record's nearest noisy
 * centroid), record r goes to batch `offset + HMAC(key, r) mod batches` (libs/privacy
 * `batchOfRecord`, `keyed-hash`); the non-private reference deals them evenly (`referencePartition`,
 * `even`); a mechanism that reads no record (`none`) gets empty batches. Only records up to the
 * release's snapshot id count, so records imported later never join. Every worker computes the
 * same partition from the stored key, so a retried or resumed batch reads the same records.
 */
@Injectable()
export class ReleaseContextCache {
  private readonly contexts = new Map<string, Promise<ReleaseContext>>();

  constructor(
    private readonly database: Database,
    @Inject(MECHANISM_REGISTRY) private readonly mechanisms: MechanismRegistry,
  ) {}

  get(releaseId: string): Promise<ReleaseContext> {
    let context = this.contexts.get(releaseId);
    if (!context) {
      context = this.load(releaseId);
      context.catch(() => this.contexts.delete(releaseId));
      this.contexts.set(releaseId, context);
    }
    return context;
  }

  /** Drops releases that are over, so a long-running worker does not keep their partitions. */
  forget(releaseId: string): void {
    this.contexts.delete(releaseId);
  }

  private async load(releaseId: string): Promise<ReleaseContext> {
    const repositories = this.database.repositories;
    const release = await repositories.releases.findWithSecrets(releaseId);
    if (!release) throw new ReleaseOverError(releaseId);
    const parameters = release.parameters;
    const mechanism = release.mechanism;
    // Checked before any record is read: a mechanism this worker does not run, or parameters its
    // entry refuses, fail the release while it is still refundable.
    const entry = this.mechanisms.of(mechanism);
    entry.parse(mechanism);
    const partition = entry.partition;
    const batches: string[][] = Array.from({ length: release.batchCount }, () => []);
    // A private mechanism partitions by keyed hash (a record's batch depends on it alone). The
    // non-private reference deals the records evenly instead, so none of its batches is empty (an
    // empty batch would decode from the public prompt alone).
    if (partition !== 'none') {
      const groups = release.labelPlan.map((entry) => ({ entry, ids: [] as string[] }));
      const assign = this.assigner(release);
      for await (const record of assign.records()) {
        const group = assign.groupOf(record, groups);
        if (!group || group.entry.batches === 0) continue; // a label this release does not generate, or a cluster given no batch
        if (partition === 'keyed-hash') batches[group.entry.offset + batchOfRecord(release.partitionKey, record.id, group.entry.batches)]!.push(record.id);
        else group.ids.push(record.id);
      }
      if (partition === 'even') {
        for (const { entry, ids } of groups) {
          if (entry.batches > 0) referencePartition(release.partitionKey, ids, entry.batches).forEach((batch, i) => batches[entry.offset + i]!.push(...batch));
        }
      }
    }
    const schema = await repositories.datasets.schemaOf(release.datasetId);
    const recordSchema = schema?.structured ? schema.recordSchema : null;
    return { release, mechanism, promptTemplate: parameters.promptTemplate, publicPromptTemplate: parameters.publicPromptTemplate, batches, recordSchema };
  }

  /**
   * How a record finds its group of batches. RANDOM: by its label. CLUSTERED: by its label, then the
   * nearest of that label's noisy centroids to the record's public feature vector (libs/privacy
   * nearestCentroid): a function of the record and the stored centroids alone, so adding or
   * removing a record changes no other record's group. CLUSTERED reads the texts too.
   */
  private assigner(release: ReleaseWithSecrets) {
    const repositories = this.database.repositories;
    const batching = release.parameters.batching;
    type Group = { entry: LabelPlanEntry; ids: string[] };
    if (batching?.mode !== 'CLUSTERED') {
      return {
        records: async function* (): AsyncGenerator<{ id: string; label: string | null; text?: string }> {
          yield* await repositories.records.idsAndLabels(release.datasetId, release.maxRecordId);
        },
        groupOf: (record: { label: string | null }, groups: Group[]) => groups.find((group) => group.entry.label === record.label),
      };
    }
    const centroids = new Map<string | null, { groups: number[]; vectors: Float64Array[] }>();
    release.labelPlan.forEach((entry, index) => {
      if (!entry.centroid) throw new Error(`release ${release.id}: CLUSTERED label plan entry ${index} has no centroid`);
      const label = centroids.get(entry.label) ?? { groups: [], vectors: [] };
      label.groups.push(index);
      label.vectors.push(Float64Array.from(entry.centroid));
      centroids.set(entry.label, label);
    });
    return {
      records: async function* (): AsyncGenerator<{ id: string; label: string | null; text?: string }> {
        for await (const page of repositories.records.recordPages(release.datasetId, release.maxRecordId)) yield* page;
      },
      groupOf: (record: { label: string | null; text?: string }, groups: Group[]) => {
        const label = centroids.get(record.label);
        if (!label) return undefined;
        return groups[label.groups[nearestCentroid(recordFeatureVector(record.text ?? '', batching.dimension), label.vectors)]!];
      },
    };
  }
}
