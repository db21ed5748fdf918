#!/usr/bin/env node
/**
 * `npm start`: builds everything, then runs the server in this process (so signals reach it as
 * they would `node packages/server/dist/main.js`). Under NODE_ENV=production it builds nothing: a
 * deployment builds once, when it is installed or upgraded (docs/deploy.md).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const main = new URL('../packages/server/dist/main.js', import.meta.url);

if (process.env.NODE_ENV === 'production') {
  if (!existsSync(main)) {
    console.error('NODE_ENV is production, so npm start does not build, and there is no build: run `npm run build` first.');
    process.exit(1);
  }
} else {
  const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

await import(main.href);
