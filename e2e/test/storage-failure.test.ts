/**
 * The server's disk fills up while two people edit and chat: both see "Not saved — the server
 * cannot store changes", edits still reach each other, the chat message waits unsent, and once
 * space is freed everything is stored and the status says "Connected" again.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { fillDisk, mountSmallDisk } from '../../packages/server/test/disk.js';
import {
  aliceAndBobOnADocument,
  artifactsDir,
  editorText,
  expectNoBrowserErrors,
  onCleanup,
  tempDir,
  typeInEditor,
  WAIT_MS,
} from './helpers.js';

const poll = { timeout: WAIT_MS, interval: 100 };

it('says "Not saved" while the server cannot store changes, and "Connected" once it can again', { timeout: 60_000 }, async () => {
  const dataDir = tempDir();
  onCleanup(mountSmallDisk(dataDir, 4 * 1024));
  const { alice, bob, server } = await aliceAndBobOnADocument('Disk full', { dataDir });
  await typeInEditor(alice, 'end', 'Stored. ');
  await expect.poll(() => editorText(bob), poll).toBe('Stored.');

  const filler = fillDisk(dataDir);
  await typeInEditor(alice, 'end', 'Typed while the disk is full.');
  for (const u of [alice, bob]) {
    await expect
      .poll(() => u.status().innerText(), { ...poll, message: `${u.name}'s status while storage fails` })
      .toMatch(/Not saved — the server cannot store changes/);
  }
  await expect.poll(() => editorText(bob), { ...poll, message: 'edits still reach Bob' }).toBe('Stored. Typed while the disk is full.');
  const message = alice.region('Chat').getByRole('textbox', { name: 'Message', exact: true });
  await message.click();
  await message.pressSequentially('Can you see this?', { delay: 20 });
  await message.press('Enter');
  await alice.region('Chat').getByText('Can you see this?').first().waitFor();
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(await bob.region('Chat').getByText('Can you see this?').count(), 'an unstored message is not shown to others').toBe(0);
  mkdirSync(artifactsDir, { recursive: true });
  await alice.page.screenshot({ path: join(artifactsDir, 'storage-failing-1280x800.png') });

  rmSync(filler);
  for (const u of [alice, bob]) {
    await expect
      .poll(() => u.status().innerText(), { ...poll, timeout: 20_000, message: `${u.name}'s status after space is freed` })
      .toMatch(/\bConnected\b/);
  }
  await bob.region('Chat').getByText('Can you see this?').first().waitFor();
  // Before the server stops: after it, the pages' reconnect attempts are console errors.
  expectNoBrowserErrors(alice, bob);
  expect(await server.stop('SIGTERM'), 'exit code after SIGTERM').toBe(0);
});
