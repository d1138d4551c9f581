import { type RecordSchema } from '@synthgate/records';
import { strToU8, zipSync } from 'fflate';
import { BUNDLE_PARQUET_PATH, type CardRelease, datasetCard } from './release-card';
import { type ExportedRecord, parquetFile } from './release-files';

/**
 * A release as one zip: `README.md` (the dataset card), the records as Parquet under `data/`, and
 * `schema.json` (the declared record schema, in the shape `synthgate dataset create --schema`
 * takes). Unzipped, the folder is a Hugging Face dataset: `load_dataset("<folder>")` reads the
 * card's configs. The Parquet file is stored uncompressed in the zip (it is compressed already).
 */
export function releaseBundle(release: CardRelease, schema: RecordSchema, records: readonly ExportedRecord[]): Uint8Array {
  const folder = `release-${release.id}`;
  return zipSync(
    {
      [folder]: {
        'README.md': strToU8(datasetCard(release, schema, records.length)),
        'schema.json': strToU8(`${JSON.stringify(schema, null, 2)}\n`),
        [BUNDLE_PARQUET_PATH]: [parquetFile(schema, records), { level: 0 }],
      },
    },
    { level: 6, mtime: release.createdAt },
  );
}
