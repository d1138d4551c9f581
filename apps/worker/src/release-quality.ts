import { Injectable, Logger } from '@nestjs/common';
import { type ReleaseEntity, type Repositories } from '@synthgate/persistence';
import { QualityReportBuilder } from '@synthgate/quality';

/** Sensitive records read per query while the replay check streams them. */
const PAGE_SIZE = 5000;

/**
 * Computes a release's quality report (libs/quality) inside the transaction that marks it
 * SUCCEEDED, so a succeeded release always has one and publishing can rely on it. The synthetic
 * side is indexed in memory; the sensitive records of the release's snapshot stream through in
 * pages. The report is sensitive: it is stored on the release and shown only to the owning
 * organisation's DATA_OWNER and COMPLIANCE; nothing of it is logged.
 */
@Injectable()
export class ReleaseQualityReporter {
  private readonly logger = new Logger('Worker');

  async compute(repositories: Repositories, release: ReleaseEntity): Promise<Record<string, unknown>> {
    const started = Date.now();
    const records = await repositories.releases.allRecords(release.id);
    const builder = new QualityReportBuilder(records.map((record) => ({ ordinal: record.ordinal, text: record.text, label: record.label })));
    for await (const texts of repositories.records.textPages(release.datasetId, release.maxRecordId, PAGE_SIZE)) builder.addSensitive(texts);
    const report = builder.finish(new Date());
    this.logger.log(`release ${release.id}: quality report computed in ${Date.now() - started} ms`);
    return report as unknown as Record<string, unknown>;
  }
}
