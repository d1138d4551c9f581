import { Template } from '@huggingface/jinja';
import { GenerationError } from '../generation.errors';

/**
 * Chat templates: instruct models expect their prompt wrapped in the Jinja template of their
 * `tokenizer_config.json` (`chat_template`; GGUF imports copy `tokenizer.chat_template` there).
 * Rendered with `@huggingface/jinja`, the implementation Hugging Face's transformers.js uses (pure
 * JavaScript, no native code: the gateway renders chats without loading the runtime).
 */

/** One turn of a chat. */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/** The npm package chat templates are rendered with. */
export const CHAT_TEMPLATE_PACKAGE = '@huggingface/jinja';

/**
 * The template of a `tokenizer_config.json`: its `chat_template` string, or from a list of named
 * templates (`[{ name, template }]`, as some models ship) the one named `default`. Null if none.
 */
export function chatTemplateOf(tokenizerConfig: unknown): string | null {
  if (!tokenizerConfig || typeof tokenizerConfig !== 'object') return null;
  const value = (tokenizerConfig as { chat_template?: unknown }).chat_template;
  if (typeof value === 'string') return value.length > 0 ? value : null;
  if (Array.isArray(value)) {
    const named = value.find((entry: unknown) => typeof entry === 'object' && entry !== null && (entry as { name?: unknown }).name === 'default') as { template?: unknown } | undefined;
    return typeof named?.template === 'string' ? named.template : null;
  }
  return null;
}

/**
 * A special token of a `tokenizer_config.json` (`bos_token`, `eos_token`) as a string: given
 * plainly or as an added-token object `{ content }`. Null if absent.
 */
export function specialTokenOf(tokenizerConfig: unknown, key: 'bos_token' | 'eos_token'): string | null {
  if (!tokenizerConfig || typeof tokenizerConfig !== 'object') return null;
  const value = (tokenizerConfig as Record<string, unknown>)[key];
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') return (value as { content: string }).content;
  return null;
}

/** Special tokens templates refer to (`bos_token`, `eos_token`), as strings. */
export interface ChatSpecialTokens {
  readonly bosToken: string;
  readonly eosToken: string;
}

/**
 * Renders `messages` through `template`, ending with the assistant's generation prompt. Throws
 * `INVALID_GENERATION_INPUT` with the template's own words when it refuses the chat (Gemma 2's
 * template refuses a system turn, for one) or cannot be parsed.
 */
export function renderChat(template: string, messages: readonly ChatMessage[], tokens: ChatSpecialTokens): string {
  try {
    return new Template(template).render({
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      bos_token: tokens.bosToken,
      eos_token: tokens.eosToken,
      add_generation_prompt: true,
    });
  } catch (error) {
    throw new GenerationError('INVALID_GENERATION_INPUT', `the chat template could not render the chat: ${error instanceof Error ? error.message : String(error)}`);
  }
}
