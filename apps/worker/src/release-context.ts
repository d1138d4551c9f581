import { Inject, Injectable } from '@nestjs/common';
import { Database, type ReleaseWithSecrets } from '@synthgate/persistence';
import { batchOfRecord, type MechanismParameters, type MechanismRegistry, referencePartition } from '@synthgate/privacy';
import { type RecordSchema } from '@synthgate/records';
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
 * each label group, record r goes to batch `offset + HMAC(key, r) mod batches` (libs/privacy
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
      const groups = new Map(release.labelPlan.map((entry) => [entry.label, { entry, ids: [] as string[] }]));
      for (const record of await repositories.records.idsAndLabels(release.datasetId, release.maxRecordId)) {
        const group = groups.get(record.label);
        if (!group) continue; // a label this release does not generate
        if (partition === 'keyed-hash') batches[group.entry.offset + batchOfRecord(release.partitionKey, record.id, group.entry.batches)]!.push(record.id);
        else group.ids.push(record.id);
      }
      if (partition === 'even') {
        for (const { entry, ids } of groups.values()) {
          referencePartition(release.partitionKey, ids, entry.batches).forEach((batch, i) => batches[entry.offset + i]!.push(...batch));
        }
      }
    }
    const schema = await repositories.datasets.schemaOf(release.datasetId);
    const recordSchema = schema?.structured ? schema.recordSchema : null;
    return { release, mechanism, promptTemplate: parameters.promptTemplate, publicPromptTemplate: parameters.publicPromptTemplate, batches, recordSchema };
  }
}
