/**
 * Browsers hide why a WebSocket handshake was refused; the page must still say it. A full room:
 * the second person is told so (not "Reconnecting" forever) and gets in once there is room. A
 * page on another origin can read the server's reason for refusing it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { artifactsDir, expectNoBrowserErrors, launchBrowser, newDocument, onCleanup, startServer, user, WAIT_MS } from './helpers.js';

it('tells the second person that the room is full, and lets them in once the first leaves', { timeout: 60_000 }, async () => {
  const { server, browser, path } = await newDocument('One at a time', { flags: ['--max-connections-per-room', '1'] });
  const alice = await user(browser, server, 'Alice', { path });
  await alice.editor().waitFor();
  const bob = await user(browser, server, 'Bob', { path });
  // Chromium logs the refused handshake itself; the page handles it.
  bob.allowErrors(/WebSocket connection to .* failed|status of 503/);
  await bob.page.getByRole('status').filter({ hasText: 'The room is full' }).waitFor();
  await bob.page.screenshot({ path: join(artifactsDir, 'room-full-1280x800.png') });
  await alice.close();
  await bob
    .status()
    .filter({ hasText: 'Connected' })
    .waitFor({ timeout: WAIT_MS * 2 });
  await bob.editor().waitFor();
  expectNoBrowserErrors(bob);
});

it('lets a page on another origin read why its WebSocket was refused', { timeout: 30_000 }, async () => {
  const server = await startServer();
  // Another origin: a plain page from a second server on loopback.
  const elsewhere = createServer((_request, response) =>
    response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>x</title>'),
  );
  await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
  onCleanup(() => new Promise((resolve) => elsewhere.close(resolve)));
  const origin = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
  const browser = await launchBrowser();
  const context = await browser.newContext();
  onCleanup(() => context.close());
  const page = await context.newPage();
  await page.goto(`${origin}/`);
  const answer = await page.evaluate(async (url) => {
    const response = await fetch(url);
    return { status: response.status, body: (await response.json()) as unknown };
  }, `${server.url}/ws/some-room`);
  expect(answer).toEqual({ status: 403, body: { code: 'origin_not_allowed', error: expect.stringContaining(origin) } });
});
