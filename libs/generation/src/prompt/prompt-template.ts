import { GenerationError } from '../generation.errors';
import { type ChatMessage, type ChatSpecialTokens, renderChat } from '../tokenizer/chat-template';

/**
 * A dataset's prompt template (DESIGN.md section 5.2): plain text with `{name}` placeholders, one
 * of them `{text}` (the record's text, exactly once). What follows `{text}` is the public prompt's
 * template: the same prompt without the record. The gateway validates templates with
 * {@link promptTemplateProblem}, prices prompts with {@link fillPrompt}, and the worker and
 * bench:model build the prompts they run with the same functions, so what is admitted is what runs.
 *
 * The fill takes a map of field values, not fixed arguments: `{text}` and `{label}` today, any
 * declared record field tomorrow.
 */

/** The template of a labelled dataset that declares none. */
export const DEFAULT_LABELLED_TEMPLATE = 'Here is a text about {label}: {text}\n\nHere is another text about {label}:';
/** The template of an unlabelled dataset that declares none. */
export const DEFAULT_UNLABELLED_TEMPLATE = 'Here is a text: {text}\n\nHere is another text:';
/** Longest template accepted, in characters. */
export const MAX_PROMPT_TEMPLATE_LENGTH = 2000;
/** The placeholder the record's text goes into. */
export const TEXT_PLACEHOLDER = '{text}';

/** Values of a prompt's placeholders by name; null (a record without the field) fills as empty. */
export type PromptValues = Readonly<Record<string, string | null | undefined>>;

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The names of a template's `{name}` placeholders, in order, repeats included. */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((match) => match[1]!);
}

/**
 * Fills a template's placeholders named in `values` in one pass, so a value is never itself
 * substituted (a record whose text contains "{label}" stays as written). A placeholder not named in
 * `values` is left as written.
 */
export function fillPrompt(template: string, values: PromptValues): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => (Object.prototype.hasOwnProperty.call(values, name) ? (values[name] ?? '') : whole));
}

/** The public prompt's template: what follows `{text}`, leading whitespace trimmed. */
export function publicPromptTemplate(template: string): string {
  const index = template.indexOf(TEXT_PLACEHOLDER);
  return template.slice(index + TEXT_PLACEHOLDER.length).trimStart();
}

/**
 * The parts of a record's prompt around its text, filled with `values` (the record's other
 * fields): the engine cuts the text alone to the release's prompt bound and keeps these whole.
 */
export function promptParts(template: string, values: PromptValues): { before: string; after: string } {
  const at = template.indexOf(TEXT_PLACEHOLDER);
  if (at < 0) throw new GenerationError('INVALID_GENERATION_INPUT', `a prompt template must contain ${TEXT_PLACEHOLDER}`);
  const others = { ...values, text: '' };
  return { before: fillPrompt(template.slice(0, at), others), after: fillPrompt(template.slice(at + TEXT_PLACEHOLDER.length), others) };
}

/**
 * Why `template` is not a valid prompt template for a dataset whose fields are `fields` (besides
 * `text`, which every template holds exactly once), or null when it is: 1 to
 * {@link MAX_PROMPT_TEMPLATE_LENGTH} characters, `{text}` exactly once, no placeholder outside
 * `text` and `fields`, and a non-empty public prompt after `{text}`.
 */
export function promptTemplateProblem(template: string, fields: readonly string[]): string | null {
  if (template.length === 0 || template.length > MAX_PROMPT_TEMPLATE_LENGTH) return `must be 1 to ${MAX_PROMPT_TEMPLATE_LENGTH} characters`;
  const placeholders = placeholdersOf(template);
  const known = new Set(['text', ...fields]);
  const unknown = placeholders.find((name) => !known.has(name));
  if (unknown !== undefined) {
    if (unknown === 'label' && !fields.includes('label')) return 'uses {label}, but the dataset has no label field';
    return `has an unknown placeholder {${unknown}}; use ${[...known].map((name) => `{${name}}`).join(' and ')}`;
  }
  if (placeholders.filter((name) => name === 'text').length !== 1) return `must contain the placeholder ${TEXT_PLACEHOLDER} exactly once`;
  if (publicPromptTemplate(template).length === 0) return `must continue after ${TEXT_PLACEHOLDER}: that part, without the record, is the public prompt`;
  return null;
}

/**
 * A prompt written as a chat for an instruct model: turns whose contents use `{text}` (exactly
 * once in all) and the record's other fields. The private chat fills every placeholder; the public
 * chat is the same chat without the record: the turn holding `{text}` keeps only what follows it
 * (leading whitespace trimmed), exactly as {@link publicPromptTemplate} does for plain templates,
 * and turns before it stay whole (a system turn is public).
 */
export function chatPrompts(turns: readonly ChatMessage[], values: PromptValues): { privateChat: ChatMessage[]; publicChat: ChatMessage[] } {
  const problem = chatTemplateProblem(turns, Object.keys(values).filter((name) => name !== 'text'));
  if (problem) throw new GenerationError('INVALID_GENERATION_INPUT', `a chat prompt ${problem}`);
  const others = { ...values, text: '' };
  const privateChat = turns.map((turn) => ({ role: turn.role, content: fillPrompt(turn.content, values) }));
  const publicChat = turns.map((turn) => ({
    role: turn.role,
    content: fillPrompt(turn.content.includes(TEXT_PLACEHOLDER) ? publicPromptTemplate(turn.content) : turn.content, others),
  }));
  return { privateChat, publicChat };
}

/**
 * Why `turns` is not a valid chat prompt for a dataset with `fields`, or null (see
 * {@link chatPrompts}): at least one turn, roles system, user or assistant, each content at most
 * {@link MAX_PROMPT_TEMPLATE_LENGTH} characters with no unknown placeholder, and `{text}` exactly
 * once in all. The turn holding `{text}` may end with it: the chat template's generation prompt
 * follows the public chat anyway.
 */
export function chatTemplateProblem(turns: readonly { readonly role: string; readonly content: string }[], fields: readonly string[]): string | null {
  if (turns.length === 0) return 'must have at least one turn';
  const known = new Set(['text', ...fields]);
  let texts = 0;
  for (const [index, turn] of turns.entries()) {
    if (!['system', 'user', 'assistant'].includes(turn.role)) return `turn ${index} has role "${String(turn.role)}"; use system, user or assistant`;
    if (typeof turn.content !== 'string' || turn.content.length > MAX_PROMPT_TEMPLATE_LENGTH) return `turn ${index} must be a text of at most ${MAX_PROMPT_TEMPLATE_LENGTH} characters`;
    const placeholders = placeholdersOf(turn.content);
    const unknown = placeholders.find((name) => !known.has(name));
    if (unknown !== undefined) return `turn ${index} has an unknown placeholder {${unknown}}; use ${[...known].map((name) => `{${name}}`).join(' and ')}`;
    texts += placeholders.filter((name) => name === 'text').length;
  }
  if (texts !== 1) return `must contain the placeholder ${TEXT_PLACEHOLDER} exactly once`;
  return null;
}

/**
 * A chat prompt rendered through a model's chat template into the two plain templates a release
 * stores and the worker fills: the private prompt's (the turns as written, `{text}` and the other
 * placeholders kept literally: Jinja prints them as data) and the public prompt's (the public chat,
 * see {@link chatPrompts}). Placeholders are filled after rendering, so record text never passes
 * through the template engine. `bosToken` should be empty when the tokenizer adds BOS itself (the
 * engine encodes prompts with special tokens). Throws `INVALID_GENERATION_INPUT` when the chat
 * template refuses the chat or does not print `{text}` exactly once.
 */
export function renderChatPromptTemplates(chatTemplate: string, turns: readonly ChatMessage[], tokens: ChatSpecialTokens): { promptTemplate: string; publicPromptTemplate: string } {
  const problem = chatTemplateProblem(turns, placeholdersOf(turns.map((turn) => turn.content).join(' ')).filter((name) => name !== 'text'));
  if (problem) throw new GenerationError('INVALID_GENERATION_INPUT', `a chat prompt ${problem}`);
  const publicTurns = turns.map((turn) => ({ role: turn.role, content: turn.content.includes(TEXT_PLACEHOLDER) ? publicPromptTemplate(turn.content) : turn.content }));
  const promptTemplate = renderChat(chatTemplate, turns, tokens);
  const publicTemplate = renderChat(chatTemplate, publicTurns, tokens);
  if (placeholdersOf(promptTemplate).filter((name) => name === 'text').length !== 1) {
    throw new GenerationError('INVALID_GENERATION_INPUT', `the chat template does not print the turn holding ${TEXT_PLACEHOLDER} as written, so the record has no place in its prompt`);
  }
  return { promptTemplate, publicPromptTemplate: publicTemplate };
}
