import { join } from 'node:path';
import { probePrompts, readProbeSet, softmaxL1 } from './record-influence';

describe('recordInfluence helpers', () => {
  it('measures the L1 distance of two softmaxes exactly', () => {
    expect(softmaxL1([0, 0], [0, 0])).toBe(0);
    // softmax([0, ln 3]) = [1/4, 3/4]; softmax([0, 0]) = [1/2, 1/2]: distance 1/2.
    expect(softmaxL1([0, Math.log(3)], [5, 5])).toBeCloseTo(0.5, 12);
    expect(softmaxL1([1000, -1000], [-1000, 1000])).toBeCloseTo(2, 12);
    expect(() => softmaxL1([0], [0, 1])).toThrow(RangeError);
  });

  it('builds the record prompt and the public prompt with the product template code', () => {
    const set = readProbeSet(join(__dirname, '../probes/record-influence.json'));
    const { withRecord, publicPrompt } = probePrompts(set.template, 'question', 'a person', 'Who invented the telephone? {label}');
    expect(withRecord).toBe('Here is a question about a person: Who invented the telephone? {label}\n\nHere is another question about a person:');
    expect(publicPrompt).toBe('Here is another question about a person:');
  });

  it('ships about 60 probes of varied kinds, each complete', () => {
    const set = readProbeSet(join(__dirname, '../probes/record-influence.json'));
    expect(set.probes.length).toBeGreaterThanOrEqual(60);
    expect(new Set(set.probes.map((probe) => probe.kind)).size).toBeGreaterThanOrEqual(6);
    expect(new Set(set.probes.map((probe) => probe.text)).size).toBe(set.probes.length);
  });
});
