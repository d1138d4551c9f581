import { type FieldSpec, type RecordSchema } from '@synthgate/records';
import { type ModelInfo, type PrivacyCost, type ReleaseParameters } from './release.types';

/**
 * The dataset card of a release bundle: a README.md in the Hugging Face dataset card format. Its
 * YAML header declares the features (one per field, typed as the Parquet columns are) and a
 * `default` config whose `train` split is the bundle's Parquet file, so
 * `datasets.load_dataset("<unzipped folder>")` and
 * `datasets.load_dataset("parquet", data_files={"train": "<folder>/data/train-00000-of-00001.parquet"})`
 * open it directly. The body says, in plain words, what the release is and what it guarantees.
 * Everything in it is public: the schema, the release's parameters and cost, the model.
 */

/** Where the bundle keeps its records, relative to the card (the Hub's file naming). */
export const BUNDLE_PARQUET_PATH = 'data/train-00000-of-00001.parquet';

export interface CardRelease {
  readonly id: string;
  readonly datasetName: string;
  readonly createdAt: Date;
  readonly parameters: ReleaseParameters;
  readonly cost: PrivacyCost;
  readonly model: ModelInfo;
  /** The public record count N the release was planned with. */
  readonly recordCount: number;
  readonly batchCount: number;
}

/** The `datasets` feature dtype of a field (what the Parquet column holds). */
export function featureDtype(field: FieldSpec): 'string' | 'int64' | 'float64' | 'bool' {
  switch (field.type.kind) {
    case 'text':
    case 'category':
      return 'string';
    case 'integer':
      return 'int64';
    case 'number':
      return 'float64';
    case 'boolean':
      return 'bool';
  }
}

/** A YAML scalar in double quotes (JSON strings are valid YAML double-quoted scalars). */
function yamlString(value: string): string {
  return JSON.stringify(value);
}

function sizeCategory(records: number): string {
  if (records < 1000) return 'n<1K';
  if (records < 10_000) return '1K<n<10K';
  if (records < 100_000) return '10K<n<100K';
  if (records < 1_000_000) return '100K<n<1M';
  return '1M<n<10M';
}

function fieldRule(field: FieldSpec): string {
  const type = field.type;
  switch (type.kind) {
    case 'text':
      return `free text, at most ${type.maxTokens} tokens of the model`;
    case 'category':
      return `one of ${type.values.map((value) => `\`${value.replace(/`/g, "'")}\``).join(', ')}`;
    case 'integer':
      return `a whole number from ${type.min} to ${type.max}`;
    case 'number':
      return `a number from ${type.min} to ${type.max}, at most ${type.decimals} digit${type.decimals === 1 ? '' : 's'} after the point`;
    case 'boolean':
      return 'true or false';
  }
}

/** A Markdown table cell: pipes escaped, line breaks as spaces. */
function cellText(value: string): string {
  return value.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function guarantee(release: CardRelease): string {
  const { parameters, cost } = release;
  if (parameters.mode === 'PUBLIC_ONLY') {
    return 'This release was generated from the public prompt alone: no sensitive record was read, so it reveals nothing about any of them and cost no privacy budget.';
  }
  if (!cost.differentiallyPrivate || cost.epsilon === null || cost.rho === null) {
    return '**This release has no privacy guarantee.** It is a non-private reference for a utility benchmark: it was decoded from the sensitive records without clipping, noise or drafter. Never share it as if it were private.';
  }
  const extraDelta = cost.floatingPointDelta ? ` (plus ${cost.floatingPointDelta.toPrecision(3)} for sampling in floating point)` : '';
  return [
    `This release is differentially private: (epsilon = ${cost.epsilon.toPrecision(4)}, delta = ${cost.delta}${extraDelta}), from rho = ${cost.rho.toPrecision(4)} zero-concentrated DP, converted with the ${cost.conversion} conversion.`,
    'In plain words: whether or not any one sensitive record was in the dataset, the probability of seeing any particular set of these synthetic records changes by at most a factor of',
    `e^epsilon = ${Math.exp(cost.epsilon).toPrecision(4)}, except with probability delta. The unit of privacy is one record; the size of the dataset (${release.recordCount} records) is treated as public.`,
    'The record schema, its declared values and the generation settings below are public metadata: they are not protected, and they are not derived from the records.',
  ].join(' ');
}

/** The README.md of a release bundle: YAML header (features, splits, configs) and the card's body. */
export function datasetCard(release: CardRelease, schema: RecordSchema, records: number): string {
  const { parameters, cost, model } = release;
  const header = [
    '---',
    'license: other',
    `pretty_name: ${yamlString(`${release.datasetName}: synthetic release ${release.id}`)}`,
    'tags:',
    '- synthetic',
    '- differential-privacy',
    '- synthgate',
    'size_categories:',
    `- ${sizeCategory(records)}`,
    'dataset_info:',
    '  features:',
    ...schema.fields.flatMap((field) => [`  - name: ${field.name}`, `    dtype: ${featureDtype(field)}`]),
    '  splits:',
    '  - name: train',
    `    num_examples: ${records}`,
    'configs:',
    '- config_name: default',
    '  data_files:',
    '  - split: train',
    `    path: ${BUNDLE_PARQUET_PATH}`,
    '---',
  ];
  const drafter = parameters.drafter ? `on (threshold ${parameters.drafter.threshold}, sigma ${parameters.drafter.sigma})` : 'off';
  const allocation = parameters.labelAllocation
    ? parameters.labelAllocation.mode === 'DECLARED'
      ? `declared proportions (${(parameters.labelAllocation.proportions ?? []).map((p) => `${p.label}: ${p.weight}`).join(', ')})`
      : `a differentially private count (Gaussian noise, sigma ${parameters.labelAllocation.countSigma})`
    : 'none';
  const body = [
    `# ${release.datasetName}: synthetic release`,
    '',
    `Synthetic records generated by Synthgate from a sensitive dataset, by private prediction over a language model (release \`${release.id}\`, created ${release.createdAt.toISOString()}).`,
    `Each record was decoded from one batch of sensitive records; the sensitive records themselves never leave the gateway.`,
    '',
    '## Privacy',
    '',
    guarantee(release),
    '',
    '| parameter | value |',
    '|---|---|',
    `| mode | ${parameters.mode} |`,
    `| epsilon | ${cost.epsilon ?? 'none (no guarantee)'} |`,
    `| delta | ${cost.delta} |`,
    `| rho (zCDP) | ${cost.rho ?? 'none'} |`,
    `| conversion | ${cost.conversion} |`,
    `| private tokens per record (cap) | ${cost.privateTokenCap} |`,
    `| rho per private token | ${cost.rhoPerPrivateToken ?? 'none'} |`,
    `| rho of the label count | ${cost.labelCountRho} |`,
    '',
    '## Size',
    '',
    `${records} synthetic records (one per batch; ${release.batchCount} batches planned over ${release.recordCount} sensitive records), in \`${BUNDLE_PARQUET_PATH}\`.`,
    '',
    '## Schema',
    '',
    'One column per field, in this order. Optional fields may be null.',
    '',
    '| field | type | parquet / datasets | optional | values |',
    '|---|---|---|---|---|',
    ...schema.fields.map((field) => `| ${field.name} | ${field.type.kind} | ${featureDtype(field)} | ${field.optional ? 'yes' : 'no'} | ${cellText(fieldRule(field))} |`),
    '',
    schema.conditionField ? `Batches were formed within one value of \`${schema.conditionField}\`; how many records each value got: ${allocation}.` : 'Batches were formed over the whole dataset.',
    parameters.batching.mode === 'CLUSTERED'
      ? `Before batching, the records were clustered by topic with differentially private k-means (${parameters.batching.clusters} clusters, ${parameters.batching.iterations} iterations, epsilon ${parameters.batching.clusteringEpsilon} of the release's budget), and each batch holds records of one cluster.`
      : 'Records were dealt into batches at random (keyed hash).',
    '',
    '## Model',
    '',
    `\`${model.name}\`, fingerprint \`${model.fingerprint}\` (sha256 over its files):`,
    '',
    ...model.files.map((file) => `- \`${file.path}\` (${file.bytes} bytes, sha256 \`${file.sha256}\`)`),
    '',
    '## Generation settings',
    '',
    '| setting | value |',
    '|---|---|',
    `| mechanism | ${parameters.mechanism} |`,
    `| expected batch size s | ${parameters.expectedBatchSize} |`,
    `| logit clip c | ${parameters.clip ?? 'none'} |`,
    `| private temperature | ${parameters.temperature ?? 'none'} |`,
    `| public temperature | ${parameters.publicTemperature ?? 'none'} |`,
    `| drafter (sparse vector) | ${drafter} |`,
    `| max tokens per record | ${parameters.maxTokens} |`,
    `| max prompt tokens | ${parameters.maxPromptTokens ?? 'the model context'} |`,
    `| top-k | ${parameters.topK ? parameters.topK : 'off'} |`,
    `| prompt template | \`${cellText(JSON.stringify(parameters.promptTemplate))}\` |`,
    `| public prompt | \`${cellText(JSON.stringify(parameters.publicPromptTemplate))}\` |`,
    '',
    '## Loading',
    '',
    '```python',
    'import pandas as pd',
    `records = pd.read_parquet("${BUNDLE_PARQUET_PATH}")`,
    '',
    'from datasets import load_dataset',
    `records = load_dataset("parquet", data_files={"train": "${BUNDLE_PARQUET_PATH}"})["train"]`,
    '```',
    '',
  ];
  return `${header.join('\n')}\n\n${body.join('\n')}`;
}
