import { REPLAY_NGRAM, ReplayIndex } from './replay-index';
import { normalisedWords } from './word-hash';

/** Smallest, largest, mean and median of a length. */
export interface LengthStatistics {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly median: number;
}

/** A synthetic record the replay check flags, for the owner to review. */
export interface FlaggedRecord {
  readonly ordinal: number;
  readonly label: string | null;
  readonly longestSharedNgram: number;
  readonly exactMatch: boolean;
}

/**
 * The quality report of a release: computed from its synthetic records and the sensitive records
 * they came from, so it is sensitive itself (only the owning organisation's DATA_OWNER and
 * COMPLIANCE may read it; never consumers).
 */
export interface ReleaseQualityReport {
  readonly version: 1;
  readonly computedAt: string;
  /** Synthetic records in the release. */
  readonly records: number;
  readonly labelCounts: readonly { readonly label: string | null; readonly count: number }[];
  /** Records with no word at all. */
  readonly emptyRecords: number;
  readonly words: LengthStatistics;
  readonly characters: LengthStatistics;
  /** Duplicates inside the release, by normalised words (case and punctuation aside). */
  readonly duplicates: {
    readonly distinctTexts: number;
    /** Records whose words equal an earlier record's. */
    readonly duplicateRecords: number;
    /** Size of the largest group of equal records (1 when all differ). */
    readonly largestGroup: number;
  };
  readonly replay: {
    readonly ngramSize: number;
    readonly sensitiveRecordsCompared: number;
    /** Synthetic records whose words equal some sensitive record's. */
    readonly exactMatches: number;
    /** Synthetic records sharing a run of `ngramSize` words with some sensitive record. */
    readonly recordsSharingNgram: number;
    /** recordsSharingNgram / records (0 for no records). */
    readonly ngramShare: number;
    /** Records that share an `ngramSize`-gram or are an exact copy, over all records: what a dataset's replay threshold is compared with. */
    readonly replayShare: number;
    /** The longest run of words any synthetic record shares with any sensitive record. */
    readonly longestSharedNgram: number;
    readonly meanLongestSharedNgram: number;
    /** Up to 20 records with the longest shared runs that replay (shared 8-gram or exact copy), longest first. */
    readonly flagged: readonly FlaggedRecord[];
  };
}

export interface SyntheticRecordInput {
  readonly ordinal: number;
  readonly text: string;
  readonly label: string | null;
}

const MAX_FLAGGED = 20;

export function lengthStatistics(values: readonly number[]): LengthStatistics {
  if (values.length === 0) return { min: 0, max: 0, mean: 0, median: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return {
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    mean: sorted.reduce((sum, v) => sum + v, 0) / sorted.length,
    median: sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2,
  };
}

/**
 * Builds a release's quality report. Create it with the synthetic records, feed every sensitive
 * record of the release's snapshot through {@link addSensitive} (in pages, as they are read), then
 * call {@link finish}.
 */
export class QualityReportBuilder {
  private readonly index: ReplayIndex;

  constructor(private readonly records: readonly SyntheticRecordInput[]) {
    this.index = new ReplayIndex(records.map((record) => record.text));
  }

  addSensitive(texts: Iterable<string>): void {
    for (const text of texts) this.index.addSensitive(text);
  }

  finish(computedAt: Date): ReleaseQualityReport {
    const records = this.records;
    const wordLists = records.map((record) => normalisedWords(record.text));
    const labels = new Map<string | null, number>();
    for (const record of records) labels.set(record.label, (labels.get(record.label) ?? 0) + 1);
    const groups = new Map<string, number>();
    for (const words of wordLists) {
      const key = words.join(' ');
      groups.set(key, (groups.get(key) ?? 0) + 1);
    }
    const replay = this.index.results();
    const replaying = replay.filter((result) => result.sharesNgram || result.exactMatch).length;
    const share = (count: number) => (records.length === 0 ? 0 : count / records.length);
    const flagged = replay
      .map((result, i) => ({ ordinal: records[i]!.ordinal, label: records[i]!.label, longestSharedNgram: result.longestSharedNgram, exactMatch: result.exactMatch }))
      .filter((record, i) => replay[i]!.sharesNgram || record.exactMatch)
      .sort((a, b) => b.longestSharedNgram - a.longestSharedNgram || a.ordinal - b.ordinal)
      .slice(0, MAX_FLAGGED);
    const recordsSharingNgram = replay.filter((result) => result.sharesNgram).length;
    return {
      version: 1,
      computedAt: computedAt.toISOString(),
      records: records.length,
      labelCounts: [...labels.entries()]
        .sort(([a], [b]) => (a === null ? -1 : b === null ? 1 : a < b ? -1 : a > b ? 1 : 0))
        .map(([label, count]) => ({ label, count })),
      emptyRecords: wordLists.filter((words) => words.length === 0).length,
      words: lengthStatistics(wordLists.map((words) => words.length)),
      characters: lengthStatistics(records.map((record) => record.text.length)),
      duplicates: {
        distinctTexts: groups.size,
        duplicateRecords: records.length - groups.size,
        largestGroup: groups.size === 0 ? 0 : Math.max(...groups.values()),
      },
      replay: {
        ngramSize: REPLAY_NGRAM,
        sensitiveRecordsCompared: this.index.sensitiveRecordsCompared,
        exactMatches: replay.filter((result) => result.exactMatch).length,
        recordsSharingNgram,
        ngramShare: share(recordsSharingNgram),
        replayShare: share(replaying),
        longestSharedNgram: replay.reduce((max, result) => Math.max(max, result.longestSharedNgram), 0),
        meanLongestSharedNgram: replay.length === 0 ? 0 : replay.reduce((sum, result) => sum + result.longestSharedNgram, 0) / replay.length,
        flagged,
      },
    };
  }
}

/** The outcome of comparing a report with a dataset's replay threshold, for publishing. */
export interface ReplayCheck {
  readonly passed: boolean;
  /** The report's replay share; null when there is no usable report. */
  readonly replayShare: number | null;
  readonly threshold: number;
  /** Why it did not pass, for the caller; null when it passed. */
  readonly reason: string | null;
}

/** Passes when the report exists and its replay share is at most the threshold. */
export function checkReplay(report: unknown, threshold: number): ReplayCheck {
  const replayShare = (report as Partial<ReleaseQualityReport> | null)?.replay?.replayShare;
  if (typeof replayShare !== 'number') {
    return { passed: false, replayShare: null, threshold, reason: 'it has no quality report, so its replay check has not run' };
  }
  if (replayShare > threshold) {
    const replay = (report as ReleaseQualityReport).replay;
    return {
      passed: false,
      replayShare,
      threshold,
      reason: `${(replayShare * 100).toFixed(1)}% of its synthetic records replay sensitive text (${replay.recordsSharingNgram} share a ${replay.ngramSize}-word run, ${replay.exactMatches} are exact copies; longest shared run ${replay.longestSharedNgram} words), above the dataset's replay threshold of ${(threshold * 100).toFixed(1)}%`,
    };
  }
  return { passed: true, replayShare, threshold, reason: null };
}
