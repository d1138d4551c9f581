import { checkReplay, lengthStatistics, QualityReportBuilder } from './quality-report';

describe('QualityReportBuilder', () => {
  it('counts records, labels, lengths, duplicates and replays', () => {
    const builder = new QualityReportBuilder([
      { ordinal: 0, text: 'How far is the moon from the earth in miles today ?', label: 'NUM' },
      { ordinal: 1, text: 'how far is the MOON', label: 'NUM' },
      { ordinal: 2, text: 'How far is the moon!', label: 'NUM' },
      { ordinal: 3, text: 'Who painted it', label: 'HUM' },
      { ordinal: 4, text: '', label: 'HUM' },
    ]);
    builder.addSensitive(['How far is the moon from the earth in miles ?', 'Who painted it']);
    builder.addSensitive(['Something else entirely']);
    const report = builder.finish(new Date('2026-01-02T03:04:05Z'));
    expect(report).toMatchObject({
      version: 1,
      computedAt: '2026-01-02T03:04:05.000Z',
      records: 5,
      labelCounts: [
        { label: 'HUM', count: 2 },
        { label: 'NUM', count: 3 },
      ],
      emptyRecords: 1,
      // words per record: 11, 5, 5, 3, 0
      words: { min: 0, max: 11, mean: 24 / 5, median: 5 },
      // "how far is the moon" twice: 4 distinct texts, one duplicate record.
      duplicates: { distinctTexts: 4, duplicateRecords: 1, largestGroup: 2 },
      replay: {
        ngramSize: 8,
        sensitiveRecordsCompared: 3,
        exactMatches: 1,
        recordsSharingNgram: 1,
        ngramShare: 1 / 5,
        // record 0 shares "how far is the moon from the earth in miles" (10 words); record 3 is an exact copy.
        replayShare: 2 / 5,
        longestSharedNgram: 10,
        // 10, 5, 5, 3, 0
        meanLongestSharedNgram: 23 / 5,
        flagged: [
          { ordinal: 0, label: 'NUM', longestSharedNgram: 10, exactMatch: false },
          { ordinal: 3, label: 'HUM', longestSharedNgram: 3, exactMatch: true },
        ],
      },
    });
    expect(report.characters.max).toBe('How far is the moon from the earth in miles today ?'.length);
  });

  it('reports zeros for an empty release', () => {
    const report = new QualityReportBuilder([]).finish(new Date(0));
    expect(report.records).toBe(0);
    expect(report.replay.replayShare).toBe(0);
    expect(report.duplicates).toEqual({ distinctTexts: 0, duplicateRecords: 0, largestGroup: 0 });
  });
});

describe('lengthStatistics', () => {
  it('takes the middle pair for an even count', () => {
    expect(lengthStatistics([4, 1, 3, 2])).toEqual({ min: 1, max: 4, mean: 2.5, median: 2.5 });
    expect(lengthStatistics([])).toEqual({ min: 0, max: 0, mean: 0, median: 0 });
  });
});

describe('checkReplay', () => {
  const report = (replayShare: number) => ({ replay: { replayShare, recordsSharingNgram: 1, exactMatches: 0, ngramSize: 8, longestSharedNgram: 9 } });

  it('passes at or below the threshold and fails above it, saying why', () => {
    expect(checkReplay(report(0), 0)).toEqual({ passed: true, replayShare: 0, threshold: 0, reason: null });
    expect(checkReplay(report(0.05), 0.05).passed).toBe(true);
    const failed = checkReplay(report(0.25), 0.1);
    expect(failed).toMatchObject({ passed: false, replayShare: 0.25, threshold: 0.1 });
    expect(failed.reason).toMatch(/^25\.0% of its synthetic records replay sensitive text .* above the dataset's replay threshold of 10\.0%$/);
  });

  it('fails without a usable report', () => {
    expect(checkReplay(null, 1)).toMatchObject({ passed: false, replayShare: null });
    expect(checkReplay({ error: 'x' }, 1).passed).toBe(false);
  });
});
