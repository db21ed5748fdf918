/**
 * The save indicator next to the connection status: "All changes saved" once the server has
 * stored what was typed; while the server is down, typed text is announced as waiting for the
 * reconnect, and saved after it. Leaves a screenshot in e2e/artifacts/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import {
  artifactsDir,
  editorText,
  expectNoBrowserErrors,
  LONG_WAIT_MS,
  newDocument,
  refusedSocketErrors,
  typeInEditor,
  user,
  WAIT_MS,
} from './helpers.js';

it('shows "All changes saved" after typing, and saves what was typed offline after the reconnect', { timeout: 60_000 }, async () => {
  const { server, browser, doc, path } = await newDocument('Save status');
  const alice = await user(browser, server, 'Alice', { path });
  const saveStatus = alice.page.getByRole('status').filter({ hasText: /Saving…|All changes saved|changes will be saved/ });

  await typeInEditor(alice, 'end', 'Typed and saved.');
  await alice.page.getByRole('status').filter({ hasText: 'All changes saved' }).waitFor({ timeout: WAIT_MS });
  mkdirSync(artifactsDir, { recursive: true });
  await alice.page.screenshot({ path: join(artifactsDir, 'save-status-1280x800.png') });

  // Chromium's own console errors while the server is down.
  const stopAllowing = alice.allowErrors(refusedSocketErrors(server, doc.name));
  expect(await server.stop('SIGTERM'), 'exit code of the server after SIGTERM').toBe(0);
  await expect.poll(() => alice.status().innerText(), { timeout: WAIT_MS, interval: 100 }).toMatch(/Reconnecting/);
  await typeInEditor(alice, 'end', ' Typed offline.');
  await expect
    .poll(() => saveStatus.innerText(), { timeout: WAIT_MS, interval: 100 })
    .toBe('Offline — changes will be saved when you reconnect');

  await server.restart();
  await expect.poll(() => saveStatus.innerText(), { timeout: LONG_WAIT_MS, interval: 100 }).toBe('All changes saved');
  stopAllowing();
  const bob = await user(browser, server, 'Bob', { path });
  await expect.poll(() => editorText(bob), { timeout: WAIT_MS, interval: 100 }).toBe('Typed and saved. Typed offline.');

  expectNoBrowserErrors(alice, bob);
});
