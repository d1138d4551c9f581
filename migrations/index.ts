import { Identity1764374400000 } from './1764374400000-Identity';
import { DatasetsAndAudit1764374460000 } from './1764374460000-DatasetsAndAudit';
import { Releases1764374520000 } from './1764374520000-Releases';
import { WorkerMetrics1764380000000 } from './1764380000000-WorkerMetrics';
import { ReleaseQualityAndBenchmarks1764380060000 } from './1764380060000-ReleaseQualityAndBenchmarks';
import { DrafterStatisticHistogram1764380120000 } from './1764380120000-DrafterStatisticHistogram';
import { DeclaredLabels1764390000000 } from './1764390000000-DeclaredLabels';
import { EraseReleaseSecrets1764390060000 } from './1764390060000-EraseReleaseSecrets';
import { LedgerKeyedChain1764390120000 } from './1764390120000-LedgerKeyedChain';
import { PlatformOperator1764390180000 } from './1764390180000-PlatformOperator';
import { ReleaseMechanism1764390420000 } from './1764390420000-ReleaseMechanism';

/** Every migration, in order. The schema is these files; a merged migration is never edited. */
export const migrations = [Identity1764374400000, DatasetsAndAudit1764374460000, Releases1764374520000, WorkerMetrics1764380000000, ReleaseQualityAndBenchmarks1764380060000, DrafterStatisticHistogram1764380120000, DeclaredLabels1764390000000, EraseReleaseSecrets1764390060000, LedgerKeyedChain1764390120000, PlatformOperator1764390180000, ReleaseMechanism1764390420000];
