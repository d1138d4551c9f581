import { chatPrompts, fillPrompt, renderChatPromptTemplates } from '../prompt/prompt-template';
import { type ChatMessage, chatTemplateOf, renderChat, specialTokenOf } from './chat-template';
import { GEMMA2_CHAT_TEMPLATE, LLAMA3_CHAT_TEMPLATE, PHI3_CHAT_TEMPLATE, QWEN25_CHAT_TEMPLATE } from './chat-templates.fixture';

const TURNS: ChatMessage[] = [
  { role: 'system', content: 'You write short reviews about {label}.' },
  { role: 'user', content: 'Example: {text}\n\nWrite another review about {label}.' },
];
const USER_ONLY: ChatMessage[] = [{ role: 'user', content: 'A review about {label}: {text}\n\nWrite another review about {label}.' }];
const NO_BOS = { bosToken: '', eosToken: '' };

describe('chatTemplateOf and specialTokenOf', () => {
  it('read a string, or the default of named templates, and null otherwise', () => {
    expect(chatTemplateOf({ chat_template: PHI3_CHAT_TEMPLATE })).toBe(PHI3_CHAT_TEMPLATE);
    expect(chatTemplateOf({ chat_template: [{ name: 'tool_use', template: 'x' }, { name: 'default', template: 'y' }] })).toBe('y');
    expect(chatTemplateOf({ chat_template: '' })).toBeNull();
    expect(chatTemplateOf({})).toBeNull();
    expect(chatTemplateOf(null)).toBeNull();
    expect(specialTokenOf({ eos_token: '<|eot_id|>' }, 'eos_token')).toBe('<|eot_id|>');
    expect(specialTokenOf({ bos_token: { content: '<bos>', lstrip: false } }, 'bos_token')).toBe('<bos>');
    expect(specialTokenOf({}, 'bos_token')).toBeNull();
  });
});

describe('renderChatPromptTemplates with the models\' own templates', () => {
  it('Llama 3: BOS from the template, header turns, the public chat without the record', () => {
    const { promptTemplate, publicPromptTemplate } = renderChatPromptTemplates(LLAMA3_CHAT_TEMPLATE, TURNS, { bosToken: '<|begin_of_text|>', eosToken: '<|eot_id|>' });
    expect(promptTemplate).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou write short reviews about {label}.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nExample: {text}\n\nWrite another review about {label}.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    expect(publicPromptTemplate).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou write short reviews about {label}.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nWrite another review about {label}.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    // Filling after rendering: record text never passes through Jinja ("{{" stays as written).
    expect(fillPrompt(promptTemplate, { text: 'Great {{ pasta }}.', label: 'food' })).toContain('Example: Great {{ pasta }}.\n\nWrite another review about food.');
  });

  it('Qwen 2.5: the given system turn replaces the default one; without one the default is printed', () => {
    const { promptTemplate, publicPromptTemplate } = renderChatPromptTemplates(QWEN25_CHAT_TEMPLATE, TURNS, NO_BOS);
    expect(promptTemplate).toBe(
      '<|im_start|>system\nYou write short reviews about {label}.<|im_end|>\n<|im_start|>user\nExample: {text}\n\nWrite another review about {label}.<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(publicPromptTemplate).toBe('<|im_start|>system\nYou write short reviews about {label}.<|im_end|>\n<|im_start|>user\nWrite another review about {label}.<|im_end|>\n<|im_start|>assistant\n');
    expect(renderChatPromptTemplates(QWEN25_CHAT_TEMPLATE, USER_ONLY, NO_BOS).promptTemplate).toBe(
      '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nA review about {label}: {text}\n\nWrite another review about {label}.<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('Gemma 2: model turns; a system turn is refused in the template\'s own words', () => {
    expect(renderChatPromptTemplates(GEMMA2_CHAT_TEMPLATE, USER_ONLY, { bosToken: '<bos>', eosToken: '<eos>' })).toEqual({
      promptTemplate: '<bos><start_of_turn>user\nA review about {label}: {text}\n\nWrite another review about {label}.<end_of_turn>\n<start_of_turn>model\n',
      publicPromptTemplate: '<bos><start_of_turn>user\nWrite another review about {label}.<end_of_turn>\n<start_of_turn>model\n',
    });
    expect(() => renderChatPromptTemplates(GEMMA2_CHAT_TEMPLATE, TURNS, NO_BOS)).toThrow(
      expect.objectContaining({ code: 'INVALID_GENERATION_INPUT', message: expect.stringContaining('System role not supported') }),
    );
  });

  it('Phi-3: tagged turns ending with the assistant tag', () => {
    const { promptTemplate, publicPromptTemplate } = renderChatPromptTemplates(PHI3_CHAT_TEMPLATE, TURNS, { bosToken: '', eosToken: '<|endoftext|>' });
    expect(promptTemplate).toBe('<|system|>\nYou write short reviews about {label}.<|end|>\n<|user|>\nExample: {text}\n\nWrite another review about {label}.<|end|>\n<|assistant|>\n');
    expect(publicPromptTemplate).toBe('<|system|>\nYou write short reviews about {label}.<|end|>\n<|user|>\nWrite another review about {label}.<|end|>\n<|assistant|>\n');
  });

  it('renders the same prompts as filling the chat first (chatPrompts), for every template', () => {
    const values = { text: 'Great pasta.', label: 'food' };
    for (const template of [LLAMA3_CHAT_TEMPLATE, QWEN25_CHAT_TEMPLATE, PHI3_CHAT_TEMPLATE]) {
      const rendered = renderChatPromptTemplates(template, TURNS, NO_BOS);
      const { privateChat, publicChat } = chatPrompts(TURNS, values);
      expect(fillPrompt(rendered.promptTemplate, values)).toBe(renderChat(template, privateChat, NO_BOS));
      expect(fillPrompt(rendered.publicPromptTemplate, values)).toBe(renderChat(template, publicChat, NO_BOS));
    }
  });

  it('refuses a chat without {text}, a template that drops the record, and a template that does not parse', () => {
    expect(() => renderChatPromptTemplates(PHI3_CHAT_TEMPLATE, [{ role: 'user', content: 'no record' }], NO_BOS)).toThrow(/exactly once/);
    expect(() => renderChatPromptTemplates("{{ 'fixed prompt' }}", TURNS, NO_BOS)).toThrow(/does not print the turn holding \{text\}/);
    expect(() => renderChatPromptTemplates('{% for %}', TURNS, NO_BOS)).toThrow(expect.objectContaining({ code: 'INVALID_GENERATION_INPUT' }));
  });
});
