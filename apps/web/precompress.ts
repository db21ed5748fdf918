import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { Plugin } from 'vite';

const TEXT_FILE = /\.(?:html|js|css|svg|json|txt)$/;
const brotli = promisify(brotliCompress);
const gzipped = promisify(gzip);

/**
 * Writes a brotli (`.br`) and a gzip (`.gz`) copy next to each text file of the build, at the
 * strongest settings: the server sends them to browsers that accept them (@fastify/static's
 * `preCompressed`) without compressing anything per request.
 */
export function precompress(): Plugin {
  let outDir = '';
  return {
    name: 'tandem:precompress',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    async closeBundle() {
      const files = (await readdir(outDir, { recursive: true })).filter((file) => TEXT_FILE.test(file));
      await Promise.all(
        files.map(async (file) => {
          const path = join(outDir, file);
          const content = await readFile(path);
          const copies: Array<[string, Buffer]> = [
            [
              '.br',
              await brotli(content, {
                params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: content.length },
              }),
            ],
            ['.gz', await gzipped(content, { level: 9 })],
          ];
          // A copy no smaller than the file is left out; the server then sends the file itself.
          for (const [extension, copy] of copies) if (copy.length < content.length) await writeFile(path + extension, copy);
        }),
      );
    },
  };
}
