/**
 * Runs nginx from tandem.conf on this machine, in the foreground, with everything it writes in a
 * temp directory of its own: for `npm run cluster` and the tests, not for a deployment.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface NginxSite {
  /** What nginx listens on, as nginx writes it: `127.0.0.1:8080`, `[::1]:8080`. */
  listen: readonly string[];
  /** The Tandem nodes behind it. */
  nodes: ReadonlyArray<{ host: string; port: number }>;
}

const INSTALL = 'nginx is needed: install it with `apt-get install nginx-light` (or nginx); its service need not run.';
const template = readFileSync(new URL('tandem.conf', import.meta.url), 'utf8');

/** The nginx binary (Debian puts it in /usr/sbin, which a non-root PATH may lack); throws saying what to install. */
export function nginxBinary(): string {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin']) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, 'nginx'), constants.X_OK);
      return join(dir, 'nginx');
    } catch {
      // not in this directory
    }
  }
  throw new Error(INSTALL);
}

/** Repeats the template's line that holds `placeholder`, once per value in its place. */
function repeatLine(text: string, placeholder: string, values: readonly string[]): string {
  const line = text.split('\n').find((candidate) => candidate.includes(placeholder));
  if (line === undefined) throw new Error(`tandem.conf has no ${placeholder}`);
  return text.replace(line, () => values.map((value) => line.replace(placeholder, value)).join('\n'));
}

/** tandem.conf with its placeholders filled in, inside a complete nginx.conf whose files all live under `prefix`. */
export function nginxConfig({ listen, nodes }: NginxSite, prefix: string): string {
  const upstream = nodes.map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`);
  return mainConfig(repeatLine(repeatLine(template, '{{node}}', upstream), '{{listen}}', listen), prefix);
}

/** A complete nginx.conf around the http-level `site`, with every file nginx writes under `prefix`. */
export function mainConfig(site: string, prefix: string): string {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `${kind}_temp_path ${join(prefix, kind)};`);
  return [
    'daemon off;',
    'worker_processes 1;',
    ...workerUser(),
    `pid ${join(prefix, 'nginx.pid')};`,
    'error_log stderr warn;',
    'events {',
    '    worker_connections 4096;',
    '}',
    'http {',
    '    access_log off;',
    ...temp.map((line) => `    ${line}`),
    site.trimEnd().replace(/^(?=.)/gm, '    '),
    '}',
    '',
  ].join('\n');
}

/**
 * Started as root, nginx runs its workers as another user. Debian's nginx.conf says `www-data`;
 * here `nobody`, which needs nothing but its temp directories (nginx hands them over) and a way
 * into the prefix (see prepareNginx). Named with its group, which on Debian is not called nobody.
 */
function workerUser(): string[] {
  if (process.getuid?.() !== 0) return [];
  const group = spawnSync('id', ['-gn', 'nobody'], { encoding: 'utf8' });
  if (group.status !== 0) throw new Error('nginx runs its workers as "nobody" when started as root, and there is no such user here');
  return [`user nobody ${group.stdout.trim()};`];
}

/** Writes nginx.conf into a new temp prefix directory; returns it and the arguments that run nginx from it in the foreground. */
export function prepareNginx(site: NginxSite): { prefix: string; args: string[] } {
  return preparePrefix((prefix) => nginxConfig(site, prefix));
}

/** prepareNginx for any nginx.conf: `render` makes it for the new prefix directory. */
export function preparePrefix(render: (prefix: string) => string): { prefix: string; args: string[] } {
  const prefix = mkdtempSync(join(tmpdir(), 'tandem-nginx-'));
  // The workers (nobody, when started as root) must get through to their temp directories.
  chmodSync(prefix, 0o711);
  const config = join(prefix, 'nginx.conf');
  writeFileSync(config, render(prefix));
  // -e: the log nginx writes before it has read the config (its default is under /var/log).
  return { prefix, args: ['-p', prefix, '-c', config, '-e', 'stderr'] };
}
