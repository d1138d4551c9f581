// Lints source texts at virtual paths with the repository's ESLint config, running only the
// dependency rule (no-restricted-imports), so a fixture needs no file on disk and no type info.
// Reads [{ filePath, code }] as JSON on stdin; writes [{ filePath, messages: [{ line, message }] }].
// Used by scripts/eslint-layers.spec.ts (Jest cannot load the ESM config in its own VM).
import { ESLint } from 'eslint';
import { text } from 'node:stream/consumers';

const RULE = '@typescript-eslint/no-restricted-imports';

const fixtures = JSON.parse(await text(process.stdin));
const eslint = new ESLint({
  cwd: process.cwd(),
  overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
  ruleFilter: ({ ruleId }) => ruleId === RULE,
});
const results = [];
for (const { filePath, code } of fixtures) {
  const [result] = await eslint.lintText(code, { filePath });
  results.push({
    filePath,
    messages: result.messages.map((message) => ({ line: message.line, rule: message.ruleId, message: message.message, fatal: message.fatal ?? false })),
  });
}
process.stdout.write(JSON.stringify(results));
