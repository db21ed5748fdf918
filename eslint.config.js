// Lint rules for the whole repository; `npm run lint` runs them (and Prettier's check), and
// `npm test` runs that first. The layer rules at the end keep dependencies pointing one way.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * Forbids imports matching any of `rules`' patterns in `files` (each with its reason). One entry
 * per file set: a later `no-restricted-imports` for the same file would replace, not add to, an
 * earlier one, so the file sets below do not overlap.
 */
function layer(files, rules, ignores = []) {
  const patterns = rules.map(([group, message]) => ({ group, message }));
  return { files, ignores, rules: { 'no-restricted-imports': ['error', { patterns }] } };
}

const server = 'packages/server/src';

function serverLayers() {
  const packages = [['@tandem/client', '@tandem/client/*', '@tandem/web'], 'the server depends on the protocol only'];
  const ws = [['ws'], 'only transport/ws-socket.ts knows ws: use the PeerSocket port'];
  const top = ['../server.js', '../main.js'];
  return [
    layer([`${server}/*.ts`], [packages, ws]),
    layer([`${server}/http/**`], [packages, ws]),
    layer(
      [`${server}/transport/**`],
      [packages, ws, [['../http/*', ...top], 'transport may not import the HTTP layer or the server']],
      [`${server}/transport/ws-socket.ts`],
    ),
    layer(
      [`${server}/transport/ws-socket.ts`],
      [packages, [['../http/*', ...top], 'transport may not import the HTTP layer or the server']],
    ),
    layer(
      [`${server}/rooms/**`],
      [
        packages,
        ws,
        [
          ['../transport/*', '../http/*', ...top],
          'rooms may not import the transport or HTTP layers above them; put the port they need in rooms/',
        ],
      ],
    ),
    layer(
      [`${server}/storage/**`, `${server}/cluster/**`, `${server}/auth/**`, `${server}/lib/**`],
      [
        packages,
        ws,
        [
          ['../rooms/*', '../transport/*', '../http/*', ...top],
          'storage, cluster, auth and lib are the bottom layer: they import nothing above them',
        ],
      ],
    ),
  ];
}

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

  // Packages: web → client → protocol ← server. Inside the server: (http, transport) → rooms →
  // (storage, cluster, auth, lib); nothing points back up, and only transport/ws-socket.ts knows `ws`.
  layer(
    ['packages/protocol/src/**'],
    [
      [
        ['@tandem/client', '@tandem/client/*', '@tandem/server', '@tandem/server/*', '@tandem/web'],
        'the protocol imports no other Tandem package',
      ],
    ],
  ),
  layer(['packages/client/src/**'], [[['@tandem/server', '@tandem/server/*', '@tandem/web'], 'the SDK depends on the protocol only']]),
  layer(['apps/web/src/**'], [[['@tandem/server', '@tandem/server/*'], 'the web app talks to the server over HTTP and WebSocket only']]),
  ...serverLayers(),
  prettier,
);
