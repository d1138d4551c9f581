import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { GatewayClient, output, withConnection, type ConnectionOptions } from './gateway-client';

/** `a,b,c` as a list of labels (trimmed, empty entries dropped). */
function labelList(text: string): string[] {
  const labels = text.split(',').map((label) => label.trim()).filter((label) => label.length > 0);
  if (labels.length === 0) throw new InvalidArgumentError('must name at least one label, e.g. billing,hardware.');
  return labels;
}

function number(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value)) throw new InvalidArgumentError('must be a number.');
  return value;
}

/** The chat prompt of `--chat-system` and `--chat-user`, or null when neither is given. */
function chatTurns(system: string | undefined, user: string | undefined): { role: string; content: string }[] | null {
  if (system === undefined && user === undefined) return null;
  if (user === undefined) throw new InvalidArgumentError('--chat-system needs --chat-user (the turn holding {text}).');
  return [...(system !== undefined ? [{ role: 'system', content: system }] : []), { role: 'user', content: user }];
}

/**
 * A record schema file (JSON, the shape libs/records declares and exports write into dataset
 * cards: `{ "fields": [{ "name", "type": { "kind", ...bounds }, "optional" }], "conditionField" }`)
 * as the GraphQL RecordSchemaInput. The gateway validates it; this only reshapes it.
 */
export function schemaInput(file: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InvalidArgumentError(`cannot read ${file} as JSON (${(error as Error).message}).`);
  }
  const schema = parsed as { fields?: unknown; conditionField?: unknown };
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray(schema.fields)) throw new InvalidArgumentError(`${file} must hold an object with a "fields" list.`);
  return {
    conditionField: schema.conditionField ?? null,
    fields: schema.fields.map((field: { name?: unknown; optional?: unknown; type?: Record<string, unknown> }) => {
      const { kind, ...bounds } = field.type ?? {};
      return { name: field.name, optional: field.optional ?? null, kind: typeof kind === 'string' ? kind.toUpperCase() : kind, ...bounds };
    }),
  };
}

interface DatasetSummary {
  id: string;
  name: string;
  recordCount: number;
  labels: string[];
  budget: { epsilon: number; delta: number; warnings: string[] } | null;
}

const SUMMARY = 'id name recordCount labels budget { epsilon delta warnings }';

/** `synthgate dataset ...` and `synthgate import`: datasets and their records. */
export function registerDatasetCommands(program: Command): void {
  const dataset = program.command('dataset').description('sensitive datasets (DATA_OWNER)');
  withConnection(
    dataset
      .command('create')
      .description('create a dataset in your organisation')
      .requiredOption('--name <name>', 'dataset name')
      .option('--description <text>', 'what it holds')
      .option('--text-field <field>', 'column or key holding the record text', 'text')
      .option('--label-field <field>', 'column or key holding the label (labelled datasets)')
      .option('--labels <labels>', 'the declared labels of a labelled dataset, comma-separated (imports with other labels are refused)', labelList)
      .option('--schema <file>', 'a structured dataset: its record schema, a JSON file (instead of --text-field, --label-field and --labels)', schemaInput)
      .option('--template <template>', 'prompt template with {text} (and {label})')
      .option('--chat-system <text>', 'chat prompt for instruct models: the system turn (may use {label})')
      .option('--chat-user <text>', 'chat prompt for instruct models: the user turn, with {text} (and {label}); used on models with a chat template')
      .option('--epsilon <epsilon>', 'total privacy budget epsilon (default 3)', number)
      .option('--delta <delta>', 'delta, below 1/record count (default 1e-6)', number),
  ).action(
    async (
      options: ConnectionOptions & {
        name: string;
        description?: string;
        textField: string;
        labelField?: string;
        labels?: string[];
        schema?: unknown;
        template?: string;
        chatSystem?: string;
        chatUser?: string;
        epsilon?: number;
        delta?: number;
      },
    ) => {
      const { createDataset } = await GatewayClient.fromOptions(options).graphql<{ createDataset: DatasetSummary }>(
        `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { ${SUMMARY} } }`,
        {
          input: {
            name: options.name,
            description: options.description ?? null,
            // A schema replaces the text-and-label shorthand (the gateway refuses both at once).
            ...(options.schema
              ? { schema: options.schema, ...(options.labelField || options.labels ? { labelField: options.labelField ?? null, labels: options.labels ?? null } : {}) }
              : { textField: options.textField, labelField: options.labelField ?? null, labels: options.labels ?? null }),
            promptTemplate: options.template ?? null,
            promptChat: chatTurns(options.chatSystem, options.chatUser),
            budget: { epsilon: options.epsilon ?? null, delta: options.delta ?? null },
          },
        },
      );
      output(options, createDataset, `created dataset ${createDataset.name}: ${createDataset.id} (budget epsilon ${createDataset.budget?.epsilon}, delta ${createDataset.budget?.delta})`);
    },
  );
  withConnection(
    dataset
      .command('add-labels')
      .description('declare more labels for a labelled dataset (a declared label is never removed)')
      .argument('<datasetId>', 'dataset id')
      .argument('<labels>', 'labels to add, comma-separated', labelList),
  ).action(async (datasetId: string, labels: string[], options: ConnectionOptions) => {
    const { updateDataset } = await GatewayClient.fromOptions(options).graphql<{ updateDataset: DatasetSummary }>(
      `mutation($input: UpdateDatasetInput!) { updateDataset(input: $input) { ${SUMMARY} } }`,
      { input: { id: datasetId, addLabels: labels } },
    );
    output(options, updateDataset, `dataset ${updateDataset.name} declares ${updateDataset.labels.length} labels: ${updateDataset.labels.join(', ')}`);
  });
  withConnection(dataset.command('list').description('list the datasets you may see')).action(async (options: ConnectionOptions) => {
    const { datasets } = await GatewayClient.fromOptions(options).graphql<{ datasets: { nodes: DatasetSummary[] } }>(
      `{ datasets(first: 100) { nodes { ${SUMMARY} } } }`,
    );
    output(options, datasets.nodes, datasets.nodes.map((d) => `${d.id}  ${String(d.recordCount).padStart(8)} records  ${d.name}`).join('\n'));
  });

  withConnection(
    program
      .command('import')
      .description('import records into a dataset, all or nothing (CSV with a header row, or JSON Lines)')
      .argument('<datasetId>', 'dataset id')
      .argument('<file>', 'a .csv or .jsonl file')
      .addOption(new Option('--format <format>', 'file format (default: from the extension)').choices(['csv', 'jsonl'])),
  ).action(async (datasetId: string, file: string, options: ConnectionOptions & { format?: 'csv' | 'jsonl' }) => {
    const format = options.format ?? (/\.(jsonl|ndjson)$/i.test(file) ? 'jsonl' : /\.csv$/i.test(file) ? 'csv' : null);
    if (!format) throw new Error(`${file}: cannot tell the format from the name; pass --format csv|jsonl`);
    const client = GatewayClient.fromOptions(options);
    const result = (await client.upload(`/datasets/${encodeURIComponent(datasetId)}/records`, file, format === 'csv' ? 'text/csv' : 'application/x-ndjson')) as {
      imported: number;
      recordCount: number;
      labels: string[];
    };
    output(options, result, `imported ${result.imported} records; the dataset now has ${result.recordCount}${result.labels.length ? ` (declared labels: ${result.labels.join(', ')})` : ''}`);
  });
}
