// Deletes what tsc emitted into dist/ for a source file that has since gone (tsc -b never does),
// so that a package packs the build of its src/ and nothing else. Runs in a package's directory
// (its prepack script).
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const output = /\.(js|d\.ts)(\.map)?$/;
for (const entry of readdirSync('dist', { recursive: true, withFileTypes: true })) {
  const file = join(entry.parentPath, entry.name);
  if (entry.isFile() && output.test(file) && !existsSync(file.replace(/^dist/, 'src').replace(output, '.ts'))) rmSync(file);
}
