import { progressLine } from './release.command';

describe('progressLine', () => {
  const release = (batchesDone: number, batchesTotal: number, tokensPerSecond: number | null, estimatedSecondsLeft: number | null, status = 'RUNNING') => ({
    status,
    failureReason: null,
    progress: { batchesDone, batchesTotal, tokensPerSecond, estimatedSecondsLeft },
  });

  it('draws batches done as a bar, with rate and time left', () => {
    expect(progressLine(release(5, 20, 12.34, 125), 20)).toBe('RUNNING   [#####---------------] 5/20 batches  12.3 tok/s  2m05s left');
    expect(progressLine(release(0, 8, null, null, 'QUEUED'), 8)).toBe('QUEUED    [--------] 0/8 batches  -- tok/s  -- left');
    expect(progressLine(release(8, 8, 30, 0, 'SUCCEEDED'), 8)).toBe('SUCCEEDED [########] 8/8 batches  30.0 tok/s  0s left');
    expect(progressLine(release(1, 3, 1, 7300), 3)).toBe('RUNNING   [#--] 1/3 batches  1.0 tok/s  2h01m left');
    expect(progressLine({ status: 'SUCCEEDED', failureReason: null, progress: null }, 3)).toBe('SUCCEEDED (progress is shown to the owning organisation only)');
  });
});
