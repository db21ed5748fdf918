// Lint rules for the whole repository; `npm run lint` runs them (and Prettier's check), and
// `npm test` runs that first. The layer rules at the end keep dependencies pointing one way.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Forbids imports matching `patterns` in `files`, saying which way the layers point. */
function layer(files, patterns, message) {
  return { files, rules: { 'no-restricted-imports': ['error', { patterns: [{ group: patterns, message }] }] } };
}

const server = 'packages/server/src';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'bench/results/**', 'e2e/artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Switches over message unions end in an exhaustive check instead.
      'default-case': 'off',
    },
  },
  {
    files: ['**/test/**/*.ts'],
    // Raw protocol messages in tests are read loosely on purpose.
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    files: ['apps/web/src/**/*.{ts,tsx}', 'packages/client/src/react.ts'],
    plugins: { 'react-hooks': reactHooks },
    // The rules of hooks; the React Compiler's stricter rules are not adopted (no compiler here).
    rules: { 'react-hooks/rules-of-hooks': 'error', 'react-hooks/exhaustive-deps': 'error' },
  },

  // Packages: web → client → protocol ← server.
  layer(
    ['packages/protocol/src/**'],
    ['@tandem/client', '@tandem/client/*', '@tandem/server', '@tandem/server/*', '@tandem/web'],
    'the protocol imports no other Tandem package',
  ),
  layer(['packages/client/src/**'], ['@tandem/server', '@tandem/server/*', '@tandem/web'], 'the SDK depends on the protocol only'),
  layer([`${server}/**`], ['@tandem/client', '@tandem/client/*', '@tandem/web'], 'the server depends on the protocol only'),
  layer(['apps/web/src/**'], ['@tandem/server', '@tandem/server/*'], 'the web app talks to the server over HTTP and WebSocket only'),
  // Inside the server: (http, transport) → rooms → (storage, cluster, auth, lib); nothing points back up.
  layer(
    [`${server}/rooms/**`],
    ['../transport/*', '../http/*', '../server.js', '../main.js'],
    'rooms may not import the transport or HTTP layers above them; put the port they need in rooms/',
  ),
  layer(
    [`${server}/storage/**`, `${server}/cluster/**`, `${server}/auth/**`, `${server}/lib/**`],
    ['../rooms/*', '../transport/*', '../http/*', '../server.js', '../main.js'],
    'storage, cluster, auth and lib are the bottom layer: they import nothing above them',
  ),
  layer([`${server}/transport/**`], ['../http/*', '../server.js', '../main.js'], 'transport may not import the HTTP layer or the server'),
  prettier,
);
