// Placeholder build until the React app lands: copies the static page into dist/.
import { copyFileSync, mkdirSync } from 'node:fs';

mkdirSync(new URL('./dist/', import.meta.url), { recursive: true });
copyFileSync(new URL('./index.html', import.meta.url), new URL('./dist/index.html', import.meta.url));
console.log('apps/web: dist/index.html written');
