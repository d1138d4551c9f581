import { once } from 'node:events';
import { type Writable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { AccessError, type Actor, defineAbilityFor, subject } from '@synthgate/access';
import { Database } from '@synthgate/persistence';
import { AuditService } from '../audit/audit.service';
import { ReleaseService } from './release.service';

const PAGE = 500;

function csvField(value: string | null): string {
  if (value === null) return '';
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Streams a release's synthetic records page by page; never the whole release in memory. */
@Injectable()
export class ReleaseExportService {
  constructor(
    private readonly database: Database,
    private readonly releaseService: ReleaseService,
    private readonly audit: AuditService,
  ) {}

  async export(actor: Actor, id: string, format: 'jsonl' | 'csv', out: Writable & { setHeader(name: string, value: string): void }): Promise<void> {
    const release = await this.releaseService.find(actor, id);
    const publishedTo = await this.database.repositories.releases.publishedTo(release.id);
    if (!defineAbilityFor(actor).can('export', subject('SyntheticRecord', { organizationId: release.organizationId, publishedTo }))) {
      throw AccessError.notFound('release', id);
    }
    await this.audit.record(actor, {
      action: 'release.exported',
      outcome: 'SUCCESS',
      subjectType: 'Release',
      subjectId: release.id,
      organizationId: release.organizationId,
      details: { format, exportedBy: actor.organizationId },
    });
    out.setHeader('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
    out.setHeader('content-disposition', `attachment; filename="release-${release.id}.${format}"`);
    if (format === 'csv') await write(out, 'ordinal,label,text\n');
    let after: string | null = null;
    for (;;) {
      const page = await this.database.repositories.releases.records(release.id, {}, { first: PAGE, after });
      for (const record of page.items) {
        const line =
          format === 'csv'
            ? `${record.ordinal},${csvField(record.label)},${csvField(record.text)}\n`
            : `${JSON.stringify({ ordinal: record.ordinal, label: record.label, text: record.text })}\n`;
        await write(out, line);
      }
      if (!page.hasNextPage) break;
      after = page.endCursor;
    }
    out.end();
  }
}

async function write(out: Writable, chunk: string): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}
