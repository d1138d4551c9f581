import { once } from 'node:events';
import { type Writable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { AccessError, type Actor, defineAbilityFor, subject } from '@synthgate/access';
import { Database, type ReleaseEntity } from '@synthgate/persistence';
import { type RecordSchema } from '@synthgate/records';
import { AuditService } from '../audit/audit.service';
import { DomainError } from '../gateway.errors';
import { releaseBundle } from './release-bundle';
import { csvField, csvHeader, csvLine, type ExportedRecord, jsonLine, parquetFile, recordValues } from './release-files';
import { toRelease } from './release.mapper';
import { ReleaseService } from './release.service';

const PAGE = 500;

export const exportFormats = ['jsonl', 'csv', 'parquet', 'zip'] as const;
export type ExportFormat = (typeof exportFormats)[number];

const contentTypes: Readonly<Record<ExportFormat, string>> = {
  jsonl: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  parquet: 'application/vnd.apache.parquet',
  zip: 'application/zip',
};

/** What an export knows of the release's records: their schema, and whether they carry typed values. */
interface RecordShape {
  readonly schema: RecordSchema;
  readonly structured: boolean;
}

/**
 * Exports a release's synthetic records. JSON Lines and CSV are streamed page by page (never the
 * whole release in memory): a structured release has one key or column per field of its schema,
 * a text-and-label release keeps its `ordinal, label, text` layout. Parquet (typed columns from
 * the schema) and the zip bundle (Parquet, dataset card, schema) are built in memory: a release
 * holds one record per batch, so its size is bounded by its batch count.
 */
@Injectable()
export class ReleaseExportService {
  constructor(
    private readonly database: Database,
    private readonly releaseService: ReleaseService,
    private readonly audit: AuditService,
  ) {}

  async export(actor: Actor, id: string, format: ExportFormat, out: Writable & { setHeader(name: string, value: string): void }): Promise<void> {
    const release = await this.releaseService.find(actor, id);
    const publishedTo = await this.database.repositories.releases.publishedTo(release.id);
    if (!defineAbilityFor(actor).can('export', subject('SyntheticRecord', { organizationId: release.organizationId, publishedTo }))) {
      throw AccessError.notFound('release', id);
    }
    // The schema and the dataset's name are public metadata of the release, like its parameters.
    const dataset = (await this.database.repositories.datasets.findById(release.datasetId))!;
    const shape: RecordShape = { schema: dataset.recordSchema, structured: dataset.structured };
    let file: Uint8Array | null = null;
    if (format === 'parquet' || format === 'zip') {
      const records = (await this.database.repositories.releases.allRecords(release.id)).map((record): ExportedRecord => ({ ordinal: record.ordinal, values: recordValues(record, shape.structured) }));
      if (records.length === 0) throw DomainError.conflict(`release ${release.id} has no synthetic records yet; a ${format} export needs at least one`);
      try {
        file = format === 'parquet' ? parquetFile(shape.schema, records) : releaseBundle(this.cardRelease(release, dataset.name), shape.schema, records);
      } catch (error) {
        // Only a record stored without values that satisfy the schema gets here (e.g. generated before
        // its release's worker wrote structured records); JSON Lines and CSV still export it.
        throw DomainError.conflict(`release ${release.id} has records that do not fit its schema (${(error as Error).message}); export it as jsonl or csv`);
      }
    }
    await this.audit.record(actor, {
      action: 'release.exported',
      outcome: 'SUCCESS',
      subjectType: 'Release',
      subjectId: release.id,
      organizationId: release.organizationId,
      details: { format, exportedBy: actor.organizationId },
    });
    out.setHeader('content-type', contentTypes[format]);
    out.setHeader('content-disposition', `attachment; filename="release-${release.id}.${format}"`);
    if (file) {
      out.setHeader('content-length', String(file.byteLength));
      out.end(Buffer.from(file.buffer, file.byteOffset, file.byteLength));
      return;
    }
    await this.stream(release.id, format as 'jsonl' | 'csv', shape, out);
  }

  private cardRelease(release: ReleaseEntity, datasetName: string) {
    // The consumer's view: no run details (timing depends on the records).
    return toRelease(release, datasetName, { runDetails: false });
  }

  private async stream(releaseId: string, format: 'jsonl' | 'csv', shape: RecordShape, out: Writable): Promise<void> {
    const { schema, structured } = shape;
    if (format === 'csv') await write(out, structured ? csvHeader(schema) : 'ordinal,label,text\n');
    let after: string | null = null;
    for (;;) {
      const page = await this.database.repositories.releases.records(releaseId, {}, { first: PAGE, after });
      let chunk = '';
      for (const record of page.items) {
        if (structured) chunk += format === 'csv' ? csvLine(schema, recordValues(record, true)) : jsonLine(schema, recordValues(record, true));
        else
          chunk +=
            format === 'csv'
              ? `${record.ordinal},${csvField(record.label)},${csvField(record.text)}\n`
              : `${JSON.stringify({ ordinal: record.ordinal, label: record.label, text: record.text })}\n`;
      }
      if (chunk.length > 0) await write(out, chunk);
      if (!page.hasNextPage) break;
      after = page.endCursor;
    }
    out.end();
  }
}

async function write(out: Writable, chunk: string): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}
