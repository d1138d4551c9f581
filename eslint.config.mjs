import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const parserOptions = { projectService: true, tsconfigRootDir: import.meta.dirname };

/** The TypeScript rules of the whole repository: the server side and the web console alike. */
const typeScriptRules = {
  '@typescript-eslint/no-floating-promises': 'error',
  '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
  '@typescript-eslint/no-explicit-any': 'error',
  '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
  '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
};

/*
 * The dependency rules of DESIGN.md, enforced, not remembered (scripts/eslint-layers.spec.ts proves
 * each one fails lint).
 * ESLint applies one set of options per rule to a file (the last matching block wins), so each area
 * below lists every restriction that holds for it, and the areas do not overlap.
 */
const restrictions = {
  otherApps: (self) => ({
    regex: `(^|/)apps/(?!${self}/)|^(\\.\\./)+(${['gateway', 'worker', 'cli'].filter((app) => app !== self).join('|')})(/|$)`,
    message: 'Apps never import each other: move what both need into a lib.',
  }),
  apps: { regex: '(^|/)apps(/|$)', message: 'Libs never import apps.' },
  otherLibsRelatively: { regex: '^(\\.\\./)+(libs/|[\\w-]+/src(/|$))', message: 'Import another lib through its public face, @synthgate/<name>.' },
  ours: { regex: '^@synthgate/', message: 'This lib imports nothing of ours.' },
  persistence: { regex: '^(@synthgate/persistence|pg|pg-copy-streams|pg-boss)$', message: 'libs/generation imports no persistence: it is pure model code.' },
  typeorm: { regex: '^(typeorm|@nestjs/typeorm)(/|$)', message: 'Only libs/persistence (and migrations/) touch TypeORM: go through a repository.' },
  onnxruntime: { regex: '^onnxruntime-', message: 'onnxruntime stays inside libs/generation: use its types and functions.' },
  notNodeCrypto: { regex: '^(?!\\.{1,2}/|node:crypto$)', message: 'libs/privacy imports nothing of ours and no package but node:crypto: it is pure, exact code.' },
};

/** One config block per area: the files, the areas it leaves to later blocks, and its restrictions. */
function layerRules(files, ignores, patterns) {
  return { files, ignores, rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] } };
}

const { otherApps, apps, otherLibsRelatively, ours, persistence, typeorm, onnxruntime, notNodeCrypto } = restrictions;
const dependencyRules = [
  ...['gateway', 'worker', 'cli'].map((app) => layerRules([`apps/${app}/**/*.ts`], [], [otherApps(app), typeorm, onnxruntime])),
  layerRules(['libs/privacy/**/*.ts'], ['libs/privacy/**/*.spec.ts'], [notNodeCrypto, apps, otherLibsRelatively]),
  // Its specs may read the file system (e.g. to scan the libs for Math.random), still nothing of ours.
  layerRules(['libs/privacy/**/*.spec.ts'], [], [ours, apps, otherLibsRelatively, typeorm, onnxruntime]),
  layerRules(['libs/records/**/*.ts', 'libs/process/**/*.ts'], [], [ours, apps, otherLibsRelatively, typeorm, onnxruntime]),
  layerRules(['libs/generation/**/*.ts'], [], [apps, otherLibsRelatively, persistence, typeorm]),
  layerRules(['libs/persistence/**/*.ts'], [], [apps, otherLibsRelatively, onnxruntime]),
  layerRules(['libs/**/*.ts'], ['libs/privacy/**', 'libs/records/**', 'libs/process/**', 'libs/generation/**', 'libs/persistence/**'], [apps, otherLibsRelatively, typeorm, onnxruntime]),
  layerRules(['migrations/**/*.ts'], [], [onnxruntime]),
  layerRules(['test/**/*.ts', 'scripts/**/*.ts'], [], [typeorm, onnxruntime]),
  // Benchmarks and tools measure onnxruntime itself (a raw MatMul, weight formats).
  layerRules(['bench/**/*.ts', 'tools/**/*.ts'], [], [typeorm]),
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'console/dist/**', '.synthgate/**', 'models/**', 'tools/**/*.py'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions,
      globals: { ...globals.node },
    },
    rules: {
      ...typeScriptRules,
      'no-restricted-properties': [
        'error',
        { object: 'it', property: 'only', message: 'A focused test silences the rest of the suite.' },
        { object: 'describe', property: 'only', message: 'A focused test silences the rest of the suite.' },
        { object: 'test', property: 'only', message: 'A focused test silences the rest of the suite.' },
      ],
    },
  },
  {
    // Nest resolves providers by their runtime class; `import type` would erase what DI needs.
    files: ['apps/**/*.ts', 'libs/access/**/*.ts', 'libs/persistence/**/*.ts', 'libs/config/**/*.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/consistent-type-imports': 'off' },
  },
  {
    // Configuration is read in one place only.
    files: ['**/*.ts'],
    ignores: ['libs/config/**', 'test/**', 'bench/**', 'scripts/**', '**/*.spec.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through @synthgate/config.' },
        { object: 'it', property: 'only', message: 'A focused test silences the rest of the suite.' },
        { object: 'describe', property: 'only', message: 'A focused test silences the rest of the suite.' },
      ],
    },
  },
  {
    // Privacy randomness comes from the injected Rng, never Math.random.
    files: ['libs/privacy/**/*.ts', 'libs/generation/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Use the injected Rng from @synthgate/privacy.' },
        { object: 'process', property: 'env', message: 'Read configuration through @synthgate/config.' },
        { object: 'it', property: 'only', message: 'A focused test silences the rest of the suite.' },
        { object: 'describe', property: 'only', message: 'A focused test silences the rest of the suite.' },
      ],
    },
  },
  {
    // The web console runs in the browser and type-checks with its own console/tsconfig.json.
    files: ['console/**/*.ts', 'console/**/*.tsx'],
    plugins: { 'react-hooks': reactHooks },
    languageOptions: {
      parserOptions,
      globals: { ...globals.browser },
    },
    rules: {
      ...typeScriptRules,
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { ...globals.node }, sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module' } },
  ...dependencyRules,
);
