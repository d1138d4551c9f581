import { readFileSync } from 'node:fs';
import { fillPrompt, type GenerationModel, publicPromptTemplate } from '@synthgate/generation';
import { SeededRng } from '@synthgate/privacy';

/** One public probe: a short text of some kind, with a label phrase, as a data owner would import it. */
export interface Probe {
  readonly kind: string;
  readonly label: string;
  readonly text: string;
}

export interface ProbeSet {
  readonly description: string;
  /** The template with `{kind}` besides the product's `{label}` and `{text}`; `{kind}` is filled first, as an owner writes it. */
  readonly template: string;
  readonly probes: readonly Probe[];
}

export function readProbeSet(path: string): ProbeSet {
  const set = JSON.parse(readFileSync(path, 'utf8')) as ProbeSet;
  if (typeof set.template !== 'string' || !set.template.includes('{text}') || !Array.isArray(set.probes) || set.probes.length === 0) {
    throw new Error(`${path}: needs a "template" with {text} and a non-empty "probes" list`);
  }
  set.probes.forEach((probe, i) => {
    for (const field of ['kind', 'label', 'text'] as const) {
      if (typeof probe[field] !== 'string' || probe[field].length === 0) throw new Error(`${path}: probes[${i}].${field} must be a non-empty string`);
    }
  });
  return set;
}

/** `|| softmax(a) - softmax(b) ||_1` at temperature 1 over the whole vocabulary, in log space. */
export function softmaxL1(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`${a.length} against ${b.length} logits`);
  const logSumExp = (x: ArrayLike<number>) => {
    let max = -Infinity;
    for (let i = 0; i < x.length; i += 1) max = Math.max(max, x[i]!);
    let sum = 0;
    for (let i = 0; i < x.length; i += 1) sum += Math.exp(x[i]! - max);
    return max + Math.log(sum);
  };
  const za = logSumExp(a);
  const zb = logSumExp(b);
  let distance = 0;
  for (let i = 0; i < a.length; i += 1) distance += Math.abs(Math.exp(a[i]! - za) - Math.exp(b[i]! - zb));
  return distance;
}

/** The two prompts of a probe: with the record, and the public prompt (what follows `{text}`), both from the product's code. */
export function probePrompts(template: string, kind: string, label: string, text: string): { withRecord: string; publicPrompt: string } {
  const datasetTemplate = template.split('{kind}').join(kind);
  return { withRecord: fillPrompt(datasetTemplate, { text, label }), publicPrompt: fillPrompt(publicPromptTemplate(datasetTemplate), { label }) };
}

export interface RecordInfluence {
  readonly probes: number;
  /** Mean L1 distance between the first next-token distributions with and without the record. */
  readonly meanL1: number;
  /** The same with each record under another probe's kind and label (probe i's text, probe (i + n/2) mod n's kind and label). */
  readonly shuffledMeanL1: number;
  readonly byKind: Record<string, { readonly probes: number; readonly meanL1: number }>;
}

/**
 * recordInfluence: how far a record moves the model's first next-token distribution from the
 * public prompt's (0: the record is ignored; 2: disjoint). Both rows go through the product's
 * engine path (GenerationModel.generateExample: prompt encoding with BOS and truncation, one
 * left-padded KV-cache prefill), the record as the single private row and the public prompt as
 * the public row; the raw logits of the first step are read from the step trace and compared as
 * full softmaxes at temperature 1 (no top-k, no UTF-8 restriction: those act on sampling only).
 */
export async function recordInfluence(model: GenerationModel, set: ProbeSet): Promise<RecordInfluence> {
  const vocab = model.info.vocabSize;
  const distance = async (text: string, kind: string, label: string) => {
    const { withRecord, publicPrompt } = probePrompts(set.template, kind, label, text);
    let l1 = Number.NaN;
    await model.generateExample({
      privatePrompts: [withRecord],
      publicPrompt,
      params: { mechanism: 'non-private-reference', expectedBatchSize: 1, temperature: 1, publicTemperature: 1, privateTokenCap: 1, maxNewTokens: 1 },
      rng: new SeededRng('record-influence'),
      onStep: (trace) => {
        // The non-private reference takes logits, so its private row always comes back whole.
        if (trace.step === 0 && trace.logits) l1 = softmaxL1(trace.logits.subarray(0, vocab), trace.publicLogits);
      },
    });
    return l1;
  };
  const n = set.probes.length;
  const matched: number[] = [];
  const shuffled: number[] = [];
  for (let i = 0; i < n; i += 1) {
    const probe = set.probes[i]!;
    const other = set.probes[(i + Math.floor(n / 2)) % n]!;
    matched.push(await distance(probe.text, probe.kind, probe.label));
    shuffled.push(await distance(probe.text, other.kind, other.label));
  }
  const mean = (values: readonly number[]) => values.reduce((a, v) => a + v, 0) / values.length;
  const byKind: Record<string, { probes: number; meanL1: number }> = {};
  for (const kind of [...new Set(set.probes.map((probe) => probe.kind))]) {
    const values = matched.filter((_, i) => set.probes[i]!.kind === kind);
    byKind[kind] = { probes: values.length, meanL1: Number(mean(values).toFixed(4)) };
  }
  return { probes: n, meanL1: Number(mean(matched).toFixed(4)), shuffledMeanL1: Number(mean(shuffled).toFixed(4)), byKind };
}
