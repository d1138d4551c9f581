import { Field, Float, ID, InputType, Int, ObjectType } from '@nestjs/graphql';
import { type DatasetEntity, type SensitiveRecordEntity } from '@synthgate/persistence';
import GraphQLJSON from '../graphql/json.scalar';
import { Connection } from '../graphql/pagination';
import { publicPromptTemplate } from '@synthgate/generation/catalog';
import { RecordSchema, RecordSchemaInput, toRecordSchema } from './record-schema.types';

@ObjectType({ description: 'One turn of a chat prompt.' })
export class ChatTurn {
  @Field({ description: 'system, user or assistant.' })
  role!: string;

  @Field({ description: 'The turn\'s text, with {text} (in one turn of the chat) and {label}.' })
  content!: string;
}

@InputType()
export class ChatTurnInput {
  @Field({ description: 'system, user or assistant.' })
  role!: string;

  @Field()
  content!: string;
}

@ObjectType({ description: 'A sensitive dataset. Its name, fields, record count and declared labels are public metadata.' })
export class Dataset {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  organizationId!: string;

  @Field()
  name!: string;

  @Field()
  description!: string;

  @Field({ description: 'The column (CSV) or key (JSONL) holding the record text. A structured dataset: its first text field (its records are imported by recordSchema).' })
  textField!: string;

  @Field(() => String, { nullable: true, description: 'The column or key holding the label; null for an unlabelled dataset. A structured dataset: its condition field.' })
  labelField!: string | null;

  @Field(() => RecordSchema, {
    description:
      'The declared record schema (public metadata). A text-and-label dataset has the fields text (TEXT) and label (CATEGORY of its labels); a structured one, the fields declared at creation.',
  })
  recordSchema!: RecordSchema;

  @Field({
    description:
      'True for a dataset created with a schema of its own: CSV columns and JSONL keys are its fields, and its records and releases carry typed values. False for a text-and-label dataset.',
  })
  structured!: boolean;

  @Field(() => [String], {
    description: 'The labels declared by the data owner (public schema, sorted): every record carries one of them, and releases generate only these.',
  })
  labels!: string[];

  @Field({
    description:
      'True for a dataset created before labels were declared: its labels were then taken from the imported records, so they are not covered by the privacy guarantee of releases made before the upgrade.',
  })
  labelsDerivedFromData!: boolean;

  @Field(() => Int)
  recordCount!: number;

  @Field({ description: 'Each record becomes one prompt; see publicPrompt for the prompt without a record.' })
  promptTemplate!: string;

  @Field({ description: 'The template after {text}: the public prompt, which contains no record.' })
  publicPromptTemplate!: string;

  @Field(() => [ChatTurn], {
    nullable: true,
    description:
      "The prompt as a chat for instruct models: releases on a model with a chat template render it through that template (the public prompt is the same chat without the record: the turn holding {text} keeps what follows it); other models use promptTemplate.",
  })
  promptChat!: ChatTurn[] | null;

  @Field()
  archived!: boolean;

  @Field({
    description:
      'Created for utility benchmarks (set at creation, never changed): the only datasets that may have NON_PRIVATE_REFERENCE releases, which have no privacy guarantee.',
  })
  benchmark!: boolean;

  @Field(() => Float, {
    description:
      "The largest share of a release's synthetic records that may replay sensitive text (share an 8-word run with a record, or copy one) for the release to be published without overrideReplayCheck.",
  })
  replayThreshold!: number;

  @Field()
  createdAt!: Date;

  @Field()
  updatedAt!: Date;

  /** Kept for the budget field resolver (budgets/budget.resolver.ts); not exposed directly. */
  budgetEpsilon!: number;
  budgetDelta!: number;
}

export const DatasetConnection = Connection(Dataset, 'Dataset');

@ObjectType({ description: 'A sensitive record, readable only by DATA_OWNERs of the dataset\'s organisation.' })
export class SensitiveRecord {
  @Field(() => ID)
  id!: string;

  @Field()
  text!: string;

  @Field(() => String, { nullable: true })
  label!: string | null;

  @Field(() => GraphQLJSON, { nullable: true, description: "A structured dataset's record: its typed values keyed by field name; null for a text-and-label record." })
  values!: Record<string, string | number | boolean | null> | null;

  @Field()
  createdAt!: Date;
}

export const SensitiveRecordConnection = Connection(SensitiveRecord, 'SensitiveRecord');

@InputType()
export class BudgetInput {
  @Field(() => Float, { nullable: true, description: 'Total epsilon over all releases, > 0 (default 3).' })
  epsilon?: number | null;

  @Field(() => Float, {
    nullable: true,
    description: 'Delta, in (0, 1) (default 1e-6). Releases are refused while delta is not below 1/record count.',
  })
  delta?: number | null;
}

@InputType()
export class CreateDatasetInput {
  @Field()
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => String, { nullable: true, description: 'Default "text".' })
  textField?: string | null;

  @Field(() => String, { nullable: true, description: 'Set for a labelled dataset.' })
  labelField?: string | null;

  @Field(() => [String], {
    nullable: true,
    description:
      'The labels of a labelled dataset, declared up front (public schema: never taken from the records). An import with any other label is refused with UNDECLARED_LABEL; add labels later with updateDataset(input: { addLabels }).',
  })
  labels?: string[] | null;

  @Field(() => RecordSchemaInput, {
    nullable: true,
    description:
      'A structured dataset: the record schema (fields of kind TEXT, CATEGORY, INTEGER, NUMBER, BOOLEAN; optional; a condition field). Leave out textField, labelField and labels, which are the text-and-label shorthand. In the prompt template {text} is then the record as one JSON object and {label} the condition field\'s value.',
  })
  schema?: RecordSchemaInput | null;

  @Field(() => String, { nullable: true, description: 'Must contain {text} once; {label} in labelled datasets; continue after {text}.' })
  promptTemplate?: string | null;

  @Field(() => [ChatTurnInput], { nullable: true, description: 'The prompt as a chat (system, user, assistant turns; {text} once in all; {label} in labelled datasets), for models with a chat template.' })
  promptChat?: ChatTurnInput[] | null;

  @Field(() => BudgetInput, { nullable: true })
  budget?: BudgetInput | null;

  @Field(() => Float, { nullable: true, description: 'Share of replaying synthetic records a release may have and still be published without an override, in [0, 1] (default 0).' })
  replayThreshold?: number | null;

  @Field(() => Boolean, {
    nullable: true,
    description:
      'A benchmark dataset (default false; fixed for its lifetime; needs ALLOW_BENCHMARK_DATASETS): allows NON_PRIVATE_REFERENCE releases, which carry no privacy guarantee. Never for real sensitive data.',
  })
  benchmark?: boolean | null;
}

@InputType()
export class UpdateDatasetInput {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => String, { nullable: true })
  promptTemplate?: string | null;

  @Field(() => [ChatTurnInput], { nullable: true, description: 'A new chat prompt; an empty list removes it.' })
  promptChat?: ChatTurnInput[] | null;

  @Field(() => BudgetInput, { nullable: true })
  budget?: BudgetInput | null;

  @Field(() => Float, { nullable: true, description: 'Share of replaying synthetic records a release may have and still be published without an override, in [0, 1].' })
  replayThreshold?: number | null;

  @Field(() => [String], { nullable: true, description: 'Labels to declare in addition to the current ones (labelled datasets; a declared label is never removed).' })
  addLabels?: string[] | null;
}

export function toDataset(entity: DatasetEntity): Dataset {
  return {
    id: entity.id,
    organizationId: entity.organizationId,
    name: entity.name,
    description: entity.description,
    textField: entity.textField,
    labelField: entity.labelField,
    recordSchema: toRecordSchema(entity.recordSchema),
    structured: entity.structured,
    labels: entity.labels,
    labelsDerivedFromData: entity.labelsDerivedFromData,
    recordCount: entity.recordCount,
    promptTemplate: entity.promptTemplate,
    publicPromptTemplate: publicPromptTemplate(entity.promptTemplate),
    promptChat: entity.promptChat ? entity.promptChat.map((turn) => ({ role: turn.role, content: turn.content })) : null,
    archived: entity.archivedAt !== null,
    benchmark: entity.benchmark,
    replayThreshold: entity.replayThreshold,
    createdAt: entity.createdAt,
    updatedAt: entity.updatedAt,
    budgetEpsilon: entity.budgetEpsilon,
    budgetDelta: entity.budgetDelta,
  };
}

export function toSensitiveRecord(entity: SensitiveRecordEntity): SensitiveRecord {
  return { id: entity.id, text: entity.text, label: entity.label, values: entity.values, createdAt: entity.createdAt };
}

/** Why releases would be refused under this budget (DESIGN.md section 4: delta below 1/N). */
export function budgetWarnings(dataset: { recordCount: number; budgetDelta: number }): string[] {
  if (dataset.recordCount === 0) return ['the dataset has no records yet; releases need delta below 1/record count'];
  if (dataset.budgetDelta >= 1 / dataset.recordCount) {
    return [
      `delta ${dataset.budgetDelta} is not below 1/record count (${(1 / dataset.recordCount).toPrecision(3)}): releases are refused until delta is lowered or records are added`,
    ];
  }
  return [];
}
