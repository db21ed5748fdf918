import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Tests run the TypeScript sources of the workspace packages (the "@tandem/source" export
// condition), so no build is needed between an edit and a test run.
export default defineConfig({
  resolve: { conditions: ['@tandem/source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['@tandem/source', ...defaultServerConditions] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'e2e/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
