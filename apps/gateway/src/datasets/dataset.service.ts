import { Inject, Injectable } from '@nestjs/common';
import { AccessError, type Action, type Actor, defineAbilityFor, scopeFor, subject } from '@synthgate/access';
import { SYNTHGATE_CONFIG, type SynthgateConfig } from '@synthgate/config';
import { Database, type DatasetChanges, type DatasetEntity, type Page, type PageRequest, type PromptChatTurn, type Repositories, type SensitiveRecordEntity } from '@synthgate/persistence';
import { chatTemplateProblem, DEFAULT_LABELLED_TEMPLATE, DEFAULT_UNLABELLED_TEMPLATE, promptTemplateProblem, publicPromptTemplate } from '@synthgate/generation/catalog';
import { epsilonFromRho, MIN_NORMAL_DOUBLE } from '@synthgate/privacy';
import { AuditService } from '../audit/audit.service';
import { DomainError } from '../gateway.errors';
import {
  chatPublicPlaceholderProblem,
  DEFAULT_CONDITIONED_RECORD_TEMPLATE,
  DEFAULT_RECORD_TEMPLATE,
  type DeclaredShape,
  promptFields,
  type PromptFields,
  publicPlaceholderProblem,
  schemaWithLabels,
  structuredShape,
  textAndLabelShape,
} from './dataset-schema';
import { type RecordSchemaInput } from './record-schema.types';

export const DEFAULT_BUDGET_EPSILON = 3;
export const DEFAULT_BUDGET_DELTA = 1e-6;
/** No synthetic record may replay sensitive text unless the owner allows a share of them (or overrides, audited). */
export const DEFAULT_REPLAY_THRESHOLD = 0;
const MAX_BUDGET_EPSILON = 1000;
const fieldName = /^[A-Za-z0-9_.-]{1,100}$/;
/** The longest label a record may carry (the import's rule too). */
const MAX_LABEL_LENGTH = 200;
/** Labels a dataset may declare: each gets batches in a default release. */
const MAX_DECLARED_LABELS = 1000;

export interface CreateDataset {
  readonly name: string;
  readonly description?: string | null;
  readonly textField?: string | null;
  readonly labelField?: string | null;
  /** The declared labels of a labelled dataset (public schema); more can be added later. */
  readonly labels?: readonly string[] | null;
  /** A record schema of its own (instead of textField, labelField and labels). */
  readonly schema?: RecordSchemaInput | null;
  readonly promptTemplate?: string | null;
  /** The prompt as a chat, for models with a chat template (see validatePromptChat). */
  readonly promptChat?: readonly { readonly role: string; readonly content: string }[] | null;
  readonly budget?: { readonly epsilon?: number | null; readonly delta?: number | null } | null;
  readonly replayThreshold?: number | null;
  readonly benchmark?: boolean | null;
}

export interface UpdateDataset {
  readonly id: string;
  readonly name?: string | null;
  readonly description?: string | null;
  readonly promptTemplate?: string | null;
  /** A new chat prompt; an empty list removes the dataset's chat prompt. */
  readonly promptChat?: readonly { readonly role: string; readonly content: string }[] | null;
  readonly budget?: { readonly epsilon?: number | null; readonly delta?: number | null } | null;
  readonly replayThreshold?: number | null;
  /** Labels to declare in addition to the dataset's (a declared label is never removed). */
  readonly addLabels?: readonly string[] | null;
}

function validateName(field: string, name: string): string {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > 200) throw DomainError.badInput(field, 'must be 1 to 200 characters');
  return trimmed;
}

/**
 * Declared labels: each 1 to MAX_LABEL_LENGTH characters after trimming, no NUL, at most
 * MAX_DECLARED_LABELS in all; duplicates collapse. Returns them trimmed.
 */
function validateLabels(field: string, labels: readonly string[]): string[] {
  const trimmed = labels.map((label) => label.trim());
  for (const label of trimmed) {
    if (label.length < 1 || label.length > MAX_LABEL_LENGTH) throw DomainError.badInput(field, `each label must be 1 to ${MAX_LABEL_LENGTH} characters`);
    if (label.includes('\u0000')) throw DomainError.badInput(field, 'a label must not contain a NUL character');
  }
  return [...new Set(trimmed)];
}

function validateDescription(field: string, description: string): string {
  if (description.length > 5000) throw DomainError.badInput(field, 'must be at most 5000 characters');
  return description;
}

/**
 * A dataset's prompt template, by the one rule of libs/generation's prompt-template.ts, with the
 * placeholders the dataset's fields allow: the public prompt (after `{text}`) only public ones.
 */
function validatePromptTemplate(field: string, template: string, fields: PromptFields): void {
  const problem = promptTemplateProblem(template, fields.all) ?? publicPlaceholderProblem(publicPromptTemplate(template), fields, 'after {text}');
  if (problem) throw DomainError.badInput(field, problem);
}

/** Most turns a chat prompt may have. */
const MAX_CHAT_TURNS = 16;

/**
 * A dataset's chat prompt, by the rule of libs/generation's prompt-template.ts: system, user or
 * assistant turns, `{text}` exactly once in all, `{label}` only in a labelled dataset.
 */
function validatePromptChat(field: string, turns: readonly { readonly role: string; readonly content: string }[], fields: PromptFields): PromptChatTurn[] {
  if (turns.length > MAX_CHAT_TURNS) throw DomainError.badInput(field, `must have at most ${MAX_CHAT_TURNS} turns`);
  const problem = chatTemplateProblem(turns, fields.all) ?? chatPublicPlaceholderProblem(turns, fields);
  if (problem) throw DomainError.badInput(field, problem);
  // chatTemplateProblem has checked every role.
  return turns.map((turn) => ({ role: turn.role as PromptChatTurn['role'], content: turn.content }));
}

function validateEpsilon(field: string, epsilon: number): number {
  if (!Number.isFinite(epsilon) || epsilon <= 0 || epsilon > MAX_BUDGET_EPSILON) {
    throw DomainError.badInput(field, `must be a number above 0 and at most ${MAX_BUDGET_EPSILON}`);
  }
  if (epsilon < MIN_NORMAL_DOUBLE) throw DomainError.badInput(field, `must be at least ${MIN_NORMAL_DOUBLE} (subnormal numbers are refused)`);
  return epsilon;
}

function validateDelta(field: string, delta: number): number {
  if (!Number.isFinite(delta) || delta <= 0 || delta >= 1) throw DomainError.badInput(field, 'must be a number strictly between 0 and 1');
  if (delta < MIN_NORMAL_DOUBLE) throw DomainError.badInput(field, `must be at least ${MIN_NORMAL_DOUBLE} (subnormal numbers are refused)`);
  return delta;
}

function validateReplayThreshold(field: string, threshold: number): number {
  if (!Number.isFinite(threshold) || threshold < 0 || threshold > 1) throw DomainError.badInput(field, 'must be a share from 0 to 1');
  return threshold;
}

/** The shape of a dataset created with `input.schema`: the shorthand fields must be left out. */
function structuredShapeOf(input: CreateDataset): DeclaredShape {
  for (const shorthand of ['textField', 'labelField', 'labels'] as const) {
    if (input[shorthand] !== undefined && input[shorthand] !== null) {
      throw DomainError.badInput(`input.${shorthand}`, 'must be left out when a schema is given (declare the fields in input.schema)');
    }
  }
  return structuredShape(input.schema!);
}

/** The shape of a text-and-label dataset: textField, labelField and declared labels. */
function textAndLabelShapeOf(input: CreateDataset): DeclaredShape {
  const textField = (input.textField ?? 'text').trim();
  if (!fieldName.test(textField)) throw DomainError.badInput('input.textField', 'must be 1 to 100 letters, digits, _, . or -');
  const labelField = input.labelField?.trim() || null;
  if (labelField !== null && !fieldName.test(labelField)) throw DomainError.badInput('input.labelField', 'must be 1 to 100 letters, digits, _, . or -');
  if (labelField === textField) throw DomainError.badInput('input.labelField', 'must differ from textField');
  const labels = validateLabels('input.labels', input.labels ?? []);
  if (labelField === null && labels.length > 0) throw DomainError.badInput('input.labels', 'an unlabelled dataset (no labelField) declares no labels');
  if (labels.length > MAX_DECLARED_LABELS) throw DomainError.badInput('input.labels', `must be at most ${MAX_DECLARED_LABELS} labels`);
  return textAndLabelShape(textField, labelField, labels);
}

/** Datasets: public metadata and budget, owned by an organisation's DATA_OWNERs. */
@Injectable()
export class DatasetService {
  constructor(
    private readonly database: Database,
    private readonly audit: AuditService,
    @Inject(SYNTHGATE_CONFIG) private readonly config: SynthgateConfig,
  ) {}

  /**
   * The dataset if the caller may `action` it (on the Dataset subject), else NOT_FOUND, the same
   * answer as for a dataset that does not exist.
   */
  async find(actor: Actor, id: string, action: Action = 'read', repositories: Repositories = this.database.repositories): Promise<DatasetEntity> {
    const dataset = await repositories.datasets.findById(id);
    if (!dataset || !defineAbilityFor(actor).can(action, subject('Dataset', { id: dataset.id, organizationId: dataset.organizationId }))) {
      throw AccessError.notFound('dataset', id);
    }
    return dataset;
  }

  list(actor: Actor, includeArchived: boolean, page: PageRequest): Promise<Page<DatasetEntity>> {
    return this.database.repositories.datasets.list(scopeFor(defineAbilityFor(actor), 'read', 'Dataset'), { includeArchived }, page);
  }

  async create(actor: Actor, input: CreateDataset): Promise<DatasetEntity> {
    const name = validateName('input.name', input.name);
    const description = validateDescription('input.description', input.description ?? '');
    const shape = input.schema ? structuredShapeOf(input) : textAndLabelShapeOf(input);
    const { textField, labelField, labels } = shape;
    const defaultTemplate = shape.structured
      ? labelField
        ? DEFAULT_CONDITIONED_RECORD_TEMPLATE
        : DEFAULT_RECORD_TEMPLATE
      : labelField
        ? DEFAULT_LABELLED_TEMPLATE
        : DEFAULT_UNLABELLED_TEMPLATE;
    const promptTemplate = input.promptTemplate ?? defaultTemplate;
    const fields = promptFields(shape);
    validatePromptTemplate('input.promptTemplate', promptTemplate, fields);
    const promptChat = input.promptChat && input.promptChat.length > 0 ? validatePromptChat('input.promptChat', input.promptChat, fields) : null;
    const budgetEpsilon = validateEpsilon('input.budget.epsilon', input.budget?.epsilon ?? DEFAULT_BUDGET_EPSILON);
    const budgetDelta = validateDelta('input.budget.delta', input.budget?.delta ?? DEFAULT_BUDGET_DELTA);
    const replayThreshold = validateReplayThreshold('input.replayThreshold', input.replayThreshold ?? DEFAULT_REPLAY_THRESHOLD);
    // A benchmark dataset may have releases with no privacy guarantee: the operator must allow
    // such datasets, and the flag is fixed at creation (a trigger refuses any later change).
    const benchmark = input.benchmark ?? false;
    if (benchmark && !this.config.allowBenchmarkDatasets) {
      throw DomainError.badInput('input.benchmark', 'benchmark datasets are not allowed on this gateway (ALLOW_BENCHMARK_DATASETS is false)');
    }
    return this.database.transaction(async (repositories) => {
      const dataset = await repositories.datasets.create({
        organizationId: actor.organizationId,
        name,
        description,
        textField,
        labelField,
        labels,
        recordSchema: shape.recordSchema,
        structured: shape.structured,
        promptTemplate,
        promptChat,
        budgetEpsilon,
        budgetDelta,
        benchmark,
        replayThreshold,
        createdBy: actor.userId,
      });
      await this.audit.record(
        actor,
        {
          action: 'dataset.create',
          outcome: 'SUCCESS',
          subjectType: 'Dataset',
          subjectId: dataset.id,
          details: { budgetEpsilon, budgetDelta, labelled: labelField !== null, labels, structured: shape.structured, fields: shape.recordSchema.fields.map((field) => field.name), replayThreshold, benchmark },
        },
        repositories,
      );
      return dataset;
    });
  }

  async update(actor: Actor, input: UpdateDataset): Promise<DatasetEntity> {
    return this.database.transaction(async (repositories) => {
      const current = await this.find(actor, input.id, 'update', repositories);
      const dataset = (await repositories.datasets.lockForUpdate(current.id))!;
      if (dataset.archivedAt) throw DomainError.conflict(`dataset ${dataset.id} is archived`);
      const changes: DatasetChanges = {};
      if (input.name !== undefined && input.name !== null) changes.name = validateName('input.name', input.name);
      if (input.description !== undefined && input.description !== null) changes.description = validateDescription('input.description', input.description);
      if (input.promptTemplate !== undefined && input.promptTemplate !== null) {
        validatePromptTemplate('input.promptTemplate', input.promptTemplate, promptFields(dataset));
        changes.promptTemplate = input.promptTemplate;
      }
      if (input.promptChat !== undefined && input.promptChat !== null) {
        changes.promptChat = input.promptChat.length > 0 ? validatePromptChat('input.promptChat', input.promptChat, promptFields(dataset)) : null;
      }
      if (input.budget?.epsilon !== undefined && input.budget.epsilon !== null) changes.budgetEpsilon = validateEpsilon('input.budget.epsilon', input.budget.epsilon);
      if (input.budget?.delta !== undefined && input.budget.delta !== null) changes.budgetDelta = validateDelta('input.budget.delta', input.budget.delta);
      if (input.replayThreshold !== undefined && input.replayThreshold !== null) changes.replayThreshold = validateReplayThreshold('input.replayThreshold', input.replayThreshold);
      if (input.addLabels !== undefined && input.addLabels !== null && input.addLabels.length > 0) {
        if (dataset.labelField === null) {
          throw DomainError.badInput('input.addLabels', dataset.structured ? 'the dataset has no condition field: its schema is fixed' : 'an unlabelled dataset (no labelField) declares no labels');
        }
        const added = validateLabels('input.addLabels', input.addLabels).filter((label) => !dataset.labels.includes(label));
        const labels = [...dataset.labels, ...added].sort();
        if (labels.length > MAX_DECLARED_LABELS) throw DomainError.badInput('input.addLabels', `a dataset declares at most ${MAX_DECLARED_LABELS} labels`);
        if (added.length > 0) {
          changes.labels = labels;
          changes.recordSchema = schemaWithLabels(dataset, labels, added);
        }
      }
      const head = await repositories.ledger.head(dataset.id);
      if (head) {
        // Spent epsilon is computed at the dataset's delta: once releases are charged, changing it
        // would rewrite what the ledger says was spent.
        if (changes.budgetDelta !== undefined && changes.budgetDelta !== dataset.budgetDelta) {
          throw DomainError.badInput('input.budget.delta', 'cannot change once releases have been charged to the dataset');
        }
        const spent = epsilonFromRho(head.totalRho, dataset.budgetDelta, 'tight');
        if (changes.budgetEpsilon !== undefined && changes.budgetEpsilon < spent) {
          throw DomainError.badInput('input.budget.epsilon', `must be at least the epsilon already spent (${spent.toPrecision(4)})`);
        }
      }
      await repositories.datasets.update(dataset.id, changes);
      await this.audit.record(
        actor,
        {
          action: 'dataset.update',
          outcome: 'SUCCESS',
          subjectType: 'Dataset',
          subjectId: dataset.id,
          details: {
            fields: Object.keys(changes),
            budgetEpsilon: changes.budgetEpsilon ?? null,
            budgetDelta: changes.budgetDelta ?? null,
            replayThreshold: changes.replayThreshold ?? null,
            labelsAdded: changes.labels ? changes.labels.filter((label) => !dataset.labels.includes(label)) : null,
          },
        },
        repositories,
      );
      return { ...dataset, ...changes, updatedAt: new Date() };
    });
  }

  async archive(actor: Actor, id: string): Promise<DatasetEntity> {
    return this.database.transaction(async (repositories) => {
      const current = await this.find(actor, id, 'archive', repositories);
      const dataset = (await repositories.datasets.lockForUpdate(current.id))!;
      if (dataset.archivedAt) return dataset;
      const archivedAt = new Date();
      await repositories.datasets.archive(dataset.id, archivedAt);
      await this.audit.record(actor, { action: 'dataset.archive', outcome: 'SUCCESS', subjectType: 'Dataset', subjectId: dataset.id }, repositories);
      return { ...dataset, archivedAt };
    });
  }

  /** Sensitive record text, for the owning organisation's DATA_OWNERs only; every read is audited. */
  async records(actor: Actor, datasetId: string, label: string | null, page: PageRequest): Promise<Page<SensitiveRecordEntity>> {
    const dataset = await this.find(actor, datasetId);
    if (!defineAbilityFor(actor).can('read', subject('SensitiveRecord', { organizationId: dataset.organizationId }))) {
      throw AccessError.notFound('records of dataset', datasetId);
    }
    const result = await this.database.repositories.records.list(dataset.id, { label }, page);
    await this.audit.record(actor, {
      action: 'records.read',
      outcome: 'SUCCESS',
      subjectType: 'Dataset',
      subjectId: dataset.id,
      organizationId: dataset.organizationId,
      details: { count: result.items.length, label, after: page.after ?? null },
    });
    return result;
  }
}
