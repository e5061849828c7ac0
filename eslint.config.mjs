// ESLint flat config: typescript-eslint's recommended rules on every TypeScript file, Prettier owns
// formatting (eslint-config-prettier turns off the rules that would fight it).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

/** Files in `files` may not import from the folders in `forbidden`. */
function layer(files, forbidden, what) {
  const message = `${what} must not import from ${forbidden.join('/, ')}/ (see eslint.config.mjs)`;
  const group = forbidden.flatMap((folder) => [`**/${folder}`, `**/${folder}/**`]);
  return { files, rules: { 'no-restricted-imports': ['error', { patterns: [{ group, message }] }] } };
}

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'cdktf.out/', '.work/', '.venv/', '.gen/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },
  { files: ['**/*.cjs', '**/*.js'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
  // Folders by role, imports one way: product (main.ts, config/, handler/, cli/) <- tooling (scripts/,
  // bench/, fixtures/) <- tests. The product's own tests use fixtures/ (stand-ins, events), never the
  // tooling harness.
  layer(['main.ts', 'config/**', 'handler/**', 'cli/**'], ['scripts', 'bench', 'fixtures', '__tests__'], 'product'),
  layer(['scripts/**', 'bench/**', 'fixtures/**'], ['__tests__'], 'tooling'),
  layer(
    ['__tests__/stack/**', '__tests__/handler/**', '__tests__/cli/**', '__tests__/support/**'],
    ['scripts', 'bench'],
    "the product's tests",
  ),
  prettier,
);
