/**
 * First-load cost of the web app: bytes transferred (compressed, headers included) and time until
 * each page can be used, in Debian's Chromium (playwright-core) with an empty cache, against the
 * built server (packages/server/dist/main.js, started here on a free port). Each page is loaded
 * `--runs` times on loopback and on an emulated slow 4G link; the medians are printed as Markdown.
 * `--static <dir>` serves another build of the web app (an older one, to compare).
 *
 *   npm run build && node --import tsx scripts/measure-first-load.ts [--runs 5] [--static <dir>]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type Browser } from 'playwright-core';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, static: { type: 'string' } } });
const runs = Number(values.runs);

/** Lighthouse's "slow 4G": 150 ms round trips, 1.6 Mbit/s down, 750 kbit/s up. */
const SLOW_4G = { offline: false, latency: 150, downloadThroughput: (1_638_400 / 8) * 0.9, uploadThroughput: (750_000 / 8) * 0.9 };

interface PageCase {
  label: string;
  path: string;
  /** The display name in localStorage before the load (null: the join screen shows). */
  name: string | null;
  /** The element whose appearance makes the page usable. */
  ready: string;
}

interface Sample {
  bytes: number;
  requests: number;
  domContentLoaded: number;
  ready: number;
}

async function startServer(): Promise<{ url: string; stop: () => void }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-measure-'));
  const args = ['--port', '0', '--host', '127.0.0.1', '--data', dataDir, ...(values.static ? ['--static', values.static] : [])];
  const child = spawn(process.execPath, [join(repoRoot, 'packages/server/dist/main.js'), ...args], {
    env: { ...process.env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the server exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      if (entry.msg?.startsWith('Tandem listening') && entry.port) resolve(entry.port);
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => {
      child.kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function load(browser: Browser, url: string, page: PageCase, throttled: boolean): Promise<Sample> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const tab = await context.newPage();
    await tab.addInitScript(
      ({ name, ready }) => {
        if (name !== null) localStorage.setItem('tandem.name', name);
        const observer = new MutationObserver(() => {
          if (!document.querySelector(ready)) return;
          (window as unknown as { readyAt: number }).readyAt = performance.now();
          observer.disconnect();
        });
        observer.observe(document, { subtree: true, childList: true, attributes: true });
      },
      { name: page.name, ready: page.ready },
    );
    const cdp = await context.newCDPSession(tab);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    if (throttled) await cdp.send('Network.emulateNetworkConditions', SLOW_4G);
    let bytes = 0;
    let requests = 0;
    cdp.on('Network.loadingFinished', (event) => {
      bytes += event.encodedDataLength;
      requests += 1;
    });
    await tab.goto(url + page.path, { waitUntil: 'load' });
    await tab.waitForSelector(page.ready, { timeout: 60_000 });
    const timing = await tab.evaluate(() => {
      const [navigation] = performance.getEntriesByType('navigation') as PerformanceNavigationTiming[];
      return { domContentLoaded: navigation!.domContentLoadedEventEnd, ready: (window as unknown as { readyAt: number }).readyAt };
    });
    // Requests started by the page once usable (the WebSocket, the title) are part of the first load too.
    await tab.waitForLoadState('networkidle');
    return { bytes, requests, ...timing };
  } finally {
    await context.close();
  }
}

const median = (numbers: number[]): number => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)]!;
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const ms = (value: number): string => `${Math.round(value)} ms`;

const server = await startServer();
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const created = (await (
    await fetch(`${server.url}/api/documents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"title":"Measure"}',
    })
  ).json()) as { name: string };
  const pages: PageCase[] = [
    { label: 'join screen (`/`)', path: '/', name: null, ready: '.join input' },
    { label: 'document list (`/`)', path: '/', name: 'Alice', ready: '.doc-list' },
    {
      label: 'document (`/d/<name>`)',
      path: `/d/${created.name}`,
      name: 'Alice',
      ready: '[aria-label="Document"][contenteditable="true"]',
    },
  ];
  console.log(`Medians of ${runs} loads with an empty cache.\n`);
  console.log('| page | transferred | requests | DOMContentLoaded | usable | usable on slow 4G |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const page of pages) {
    const fast: Sample[] = [];
    const slow: Sample[] = [];
    for (let i = 0; i < runs; i++) {
      fast.push(await load(browser, server.url, page, false));
      slow.push(await load(browser, server.url, page, true));
    }
    const pick = (samples: Sample[], key: keyof Sample): number => median(samples.map((sample) => sample[key]));
    console.log(
      `| ${page.label} | ${kib(pick(fast, 'bytes'))} | ${pick(fast, 'requests')} | ${ms(pick(fast, 'domContentLoaded'))} | ` +
        `${ms(pick(fast, 'ready'))} | ${ms(pick(slow, 'ready'))} |`,
    );
  }
} finally {
  await browser.close();
  server.stop();
}
