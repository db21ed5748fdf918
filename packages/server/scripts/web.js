// Bundles the built web app into the package while it is packed (prepack: `copy`, postpack:
// `remove`), so that an installed server serves it from ./web with no build step of its own.
import { cpSync, existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = fileURLToPath(new URL('../../../apps/web/dist', import.meta.url));
const bundled = fileURLToPath(new URL('../web', import.meta.url));

const command = process.argv[2];
if (command === 'copy') {
  if (!existsSync(`${built}/index.html`)) {
    console.error(`The web app is not built (no ${built}/index.html): run "npm run build" at the repository root first.`);
    process.exit(1);
  }
  rmSync(bundled, { recursive: true, force: true });
  cpSync(built, bundled, { recursive: true });
} else if (command === 'remove') {
  rmSync(bundled, { recursive: true, force: true });
} else {
  console.error('Usage: node scripts/web.js copy|remove');
  process.exit(2);
}
