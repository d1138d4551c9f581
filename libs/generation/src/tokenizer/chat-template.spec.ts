import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chatPrompts } from '../prompt/prompt-template';
import { CHAT_TEMPLATE_PACKAGE, type ChatMessage, chatTemplateOf, loadChatTemplateEngine, renderChat } from './chat-template';

/** Llama 3's template as Meta ships it in tokenizer_config.json (abridged of its date header). */
const LLAMA3 =
  "{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";
/** ChatML (Qwen 2.5's family of templates, without tools). */
const CHATML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const TURNS: ChatMessage[] = [
  { role: 'system', content: 'You write short reviews about {label}.' },
  { role: 'user', content: 'Example: {text}\n\nWrite another review about {label}.' },
];

describe('chatPrompts', () => {
  it('fills {text} and {label}; the public chat keeps what follows {text} in its turn', () => {
    const { privateChat, publicChat } = chatPrompts(TURNS, { text: 'Great pasta.', label: 'food' });
    expect(privateChat).toEqual([
      { role: 'system', content: 'You write short reviews about food.' },
      { role: 'user', content: 'Example: Great pasta.\n\nWrite another review about food.' },
    ]);
    expect(publicChat).toEqual([
      { role: 'system', content: 'You write short reviews about food.' },
      { role: 'user', content: 'Write another review about food.' },
    ]);
  });

  it('refuses chats without {text} or with it twice', () => {
    expect(() => chatPrompts([{ role: 'user', content: 'no record' }], { text: 'x', label: null })).toThrow(expect.objectContaining({ code: 'INVALID_GENERATION_INPUT' }));
    expect(() => chatPrompts([{ role: 'user', content: '{text}' }, { role: 'user', content: '{text}' }], { text: 'x', label: null })).toThrow(/exactly once/);
  });
});

describe('chatTemplateOf', () => {
  it('reads a string, or the default of named templates, and null otherwise', () => {
    expect(chatTemplateOf({ chat_template: CHATML })).toBe(CHATML);
    expect(chatTemplateOf({ chat_template: [{ name: 'tool_use', template: 'x' }, { name: 'default', template: 'y' }] })).toBe('y');
    expect(chatTemplateOf({ chat_template: '' })).toBeNull();
    expect(chatTemplateOf({})).toBeNull();
    expect(chatTemplateOf(null)).toBeNull();
  });
});

describe('renderChat with the real Jinja engine', () => {
  const installed = existsSync(join(__dirname, '..', '..', '..', '..', 'node_modules', ...CHAT_TEMPLATE_PACKAGE.split('/')));
  if (!installed) {
    it('is skipped: the Jinja package is not installed', async () => {
      process.stdout.write(`chat template rendering not tested: ${CHAT_TEMPLATE_PACKAGE} is not in node_modules (add it to package.json to enable chat templates)\n`);
      await expect(loadChatTemplateEngine()).rejects.toMatchObject({ code: 'CHAT_TEMPLATE_UNAVAILABLE', message: expect.stringContaining(CHAT_TEMPLATE_PACKAGE) });
    });
    return;
  }

  it('renders Llama 3 and ChatML templates exactly', async () => {
    const engine = await loadChatTemplateEngine();
    const { privateChat, publicChat } = chatPrompts(TURNS, { text: 'Great pasta.', label: 'food' });
    expect(renderChat(engine, LLAMA3, publicChat, { bosToken: '<|begin_of_text|>', eosToken: '<|eot_id|>' })).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou write short reviews about food.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nWrite another review about food.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    expect(renderChat(engine, CHATML, privateChat, { bosToken: '', eosToken: '<|im_end|>' })).toBe(
      '<|im_start|>system\nYou write short reviews about food.<|im_end|>\n<|im_start|>user\nExample: Great pasta.\n\nWrite another review about food.<|im_end|>\n<|im_start|>assistant\n',
    );
  });
});
