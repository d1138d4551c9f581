export {
  checkReplay,
  type FlaggedRecord,
  type LengthStatistics,
  lengthStatistics,
  QualityReportBuilder,
  type ReleaseQualityReport,
  type ReplayCheck,
  type SyntheticRecordInput,
} from './quality-report';
export { REPLAY_NGRAM, ReplayIndex, type ReplayResult } from './replay-index';
export { normalisedWords } from './word-hash';
