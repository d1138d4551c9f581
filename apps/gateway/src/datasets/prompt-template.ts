import { DomainError } from '../gateway.errors';

export const DEFAULT_LABELLED_TEMPLATE = 'Here is a text about {label}: {text}\n\nHere is another text about {label}:';
export const DEFAULT_UNLABELLED_TEMPLATE = 'Here is a text: {text}\n\nHere is another text:';
const MAX_TEMPLATE_LENGTH = 2000;

/**
 * Checks a dataset's prompt template. `{text}` appears exactly once; `{label}` only in a labelled
 * dataset; no other `{name}` placeholder. What follows `{text}` (leading whitespace trimmed) is
 * the public prompt: the same template with no record (DESIGN.md section 5.2), so it must not be
 * empty.
 */
export function validatePromptTemplate(field: string, template: string, labelled: boolean): void {
  if (template.length === 0 || template.length > MAX_TEMPLATE_LENGTH) {
    throw DomainError.badInput(field, `must be 1 to ${MAX_TEMPLATE_LENGTH} characters`);
  }
  const placeholders = [...template.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((match) => match[1]!);
  const unknown = placeholders.filter((name) => name !== 'text' && name !== 'label');
  if (unknown.length > 0) throw DomainError.badInput(field, `has an unknown placeholder {${unknown[0]}}; use {text} and {label}`);
  const texts = placeholders.filter((name) => name === 'text').length;
  if (texts !== 1) throw DomainError.badInput(field, 'must contain the placeholder {text} exactly once');
  if (!labelled && placeholders.includes('label')) throw DomainError.badInput(field, 'uses {label}, but the dataset has no label field');
  if (publicPromptTemplate(template).length === 0) {
    throw DomainError.badInput(field, 'must continue after {text}: that part, without the record, is the public prompt');
  }
}

/** The public prompt's template: what follows `{text}`, leading whitespace trimmed. */
export function publicPromptTemplate(template: string): string {
  const index = template.indexOf('{text}');
  return template.slice(index + '{text}'.length).trimStart();
}
