import { GenerationError } from '../generation.errors';

/**
 * Chat templates: instruct models expect their prompt wrapped in the Jinja template of their
 * `tokenizer_config.json` (`chat_template`; GGUF imports copy `tokenizer.chat_template` there).
 * Rendering needs a maintained Jinja implementation; it is behind {@link ChatTemplateEngine} and
 * loaded on demand ({@link loadChatTemplateEngine}: `@huggingface/jinja`, an optional dependency),
 * so models without a template never need it.
 */

/** One turn of a chat. */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/** Renders a Jinja template with a context (messages, special tokens, add_generation_prompt). */
export interface ChatTemplateEngine {
  render(template: string, context: Readonly<Record<string, unknown>>): string;
}

/** The npm package {@link loadChatTemplateEngine} uses (Node >= 18; Hugging Face's transformers.js renders with it). */
export const CHAT_TEMPLATE_PACKAGE = '@huggingface/jinja';

interface JinjaModule {
  readonly Template: new (source: string) => { render(context: Record<string, unknown>): string };
}

let engine: Promise<ChatTemplateEngine> | null = null;

/**
 * The Jinja engine, loaded once. Throws `CHAT_TEMPLATE_UNAVAILABLE` naming the package when it is
 * not installed.
 */
export function loadChatTemplateEngine(): Promise<ChatTemplateEngine> {
  engine ??= (async () => {
    let module: JinjaModule;
    try {
      // A variable specifier: the package is optional and absent from the type graph.
      const specifier: string = CHAT_TEMPLATE_PACKAGE;
      module = (await import(specifier)) as JinjaModule;
    } catch (error) {
      engine = null;
      throw new GenerationError(
        'CHAT_TEMPLATE_UNAVAILABLE',
        `rendering a chat template needs the package ${CHAT_TEMPLATE_PACKAGE} (npm install ${CHAT_TEMPLATE_PACKAGE}): ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    return { render: (template, context) => new module.Template(template).render({ ...context }) };
  })();
  return engine;
}

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

/** Special tokens templates refer to (`bos_token`, `eos_token`), as strings. */
export interface ChatSpecialTokens {
  readonly bosToken: string;
  readonly eosToken: string;
}

/** Renders `messages` through `template`, ending with the assistant's generation prompt. */
export function renderChat(engineInstance: ChatTemplateEngine, template: string, messages: readonly ChatMessage[], tokens: ChatSpecialTokens): string {
  return engineInstance.render(template, {
    messages: messages.map((m) => ({ role: m.role, content: m.content })),
    bos_token: tokens.bosToken,
    eos_token: tokens.eosToken,
    add_generation_prompt: true,
  });
}
