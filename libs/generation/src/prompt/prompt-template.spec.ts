import {
  chatPrompts,
  chatTemplateProblem,
  DEFAULT_LABELLED_TEMPLATE,
  DEFAULT_UNLABELLED_TEMPLATE,
  fillPrompt,
  placeholdersOf,
  promptParts,
  promptTemplateProblem,
  publicPromptTemplate,
} from './prompt-template';

describe('fillPrompt', () => {
  it('fills every named placeholder in one pass: a value is never itself substituted', () => {
    expect(fillPrompt('About {label}: {text}. More about {label}:', { text: 'a {label} b', label: 'food' })).toBe('About food: a {label} b. More about food:');
  });

  it('takes any field by name, fills null as empty and leaves unnamed placeholders as written', () => {
    expect(fillPrompt('{title} by {author}: {text} {year}', { text: 'x', title: 'T', author: null })).toBe('T by : x {year}');
  });
});

describe('publicPromptTemplate and promptParts', () => {
  it('the public prompt is what follows {text}, leading whitespace trimmed', () => {
    expect(publicPromptTemplate(DEFAULT_LABELLED_TEMPLATE)).toBe('Here is another text about {label}:');
    expect(publicPromptTemplate(DEFAULT_UNLABELLED_TEMPLATE)).toBe('Here is another text:');
  });

  it('splits a record prompt around its text, other fields filled, so the engine cuts the text alone', () => {
    expect(promptParts(DEFAULT_LABELLED_TEMPLATE, { label: 'sport', text: 'ignored' })).toEqual({
      before: 'Here is a text about sport: ',
      after: '\n\nHere is another text about sport:',
    });
    expect(() => promptParts('no record', {})).toThrow(expect.objectContaining({ code: 'INVALID_GENERATION_INPUT' }));
  });
});

describe('promptTemplateProblem', () => {
  it.each([
    ['', ['label'], 'must be 1 to 2000 characters'],
    ['x'.repeat(2001), ['label'], 'must be 1 to 2000 characters'],
    ['no record here', ['label'], 'exactly once'],
    ['{text} and {text}', ['label'], 'exactly once'],
    ['{text} about {label}', [], 'uses {label}, but the dataset has no label field'],
    ['{text} in {colour}', ['label'], 'has an unknown placeholder {colour}; use {text} and {label}'],
    ['Here is a text: {text}   ', [], 'must continue after {text}'],
  ])('refuses %j (fields %j): %s', (template, fields, message) => {
    expect(promptTemplateProblem(template, fields)).toContain(message);
  });

  it('accepts the default templates and declared fields', () => {
    expect(promptTemplateProblem(DEFAULT_LABELLED_TEMPLATE, ['label'])).toBeNull();
    expect(promptTemplateProblem(DEFAULT_UNLABELLED_TEMPLATE, [])).toBeNull();
    expect(promptTemplateProblem('{title}: {text}\n\nAnother {genre} title:', ['title', 'genre'])).toBeNull();
    expect(placeholdersOf('{a}{b}{a} {not valid} {1x}')).toEqual(['a', 'b', 'a']);
  });
});

describe('chatPrompts', () => {
  const turns = [
    { role: 'system', content: 'You write short reviews about {label}.' },
    { role: 'user', content: 'Example: {text}\n\nWrite another review about {label}.' },
  ] as const;

  it('the public chat is the same chat without the record, built by the plain templates rule', () => {
    const { privateChat, publicChat } = chatPrompts(turns, { text: 'Great {label} pasta.', label: 'food' });
    expect(privateChat[1]!.content).toBe('Example: Great {label} pasta.\n\nWrite another review about food.');
    expect(publicChat).toEqual([
      { role: 'system', content: 'You write short reviews about food.' },
      { role: 'user', content: fillPrompt(publicPromptTemplate(turns[1].content), { label: 'food' }) },
    ]);
  });

  it('refuses chats that break the rules, naming the turn', () => {
    expect(chatTemplateProblem([], [])).toBe('must have at least one turn');
    expect(chatTemplateProblem([{ role: 'user', content: 'no record' }], [])).toContain('exactly once');
    expect(chatTemplateProblem([{ role: 'user', content: '{text}' }, { role: 'assistant', content: '{text}' }], [])).toContain('exactly once');
    expect(chatTemplateProblem([{ role: 'user', content: '{text} {label}' }], [])).toBe('turn 0 has an unknown placeholder {label}; use {text}');
    expect(chatTemplateProblem([{ role: 'tool' as 'user', content: '{text}' }], [])).toContain('turn 0 has role "tool"');
    expect(() => chatPrompts([{ role: 'user', content: 'none' }], { text: 'x' })).toThrow(expect.objectContaining({ code: 'INVALID_GENERATION_INPUT' }));
  });
});
