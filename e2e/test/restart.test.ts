/**
 * The server process restarts while two people are editing: both see "Reconnecting", keep
 * editing offline, reconnect by themselves when the server is back on the same port and data
 * directory, and end up with the same text containing everything.
 */
import { expect, it } from 'vitest';
import {
  accessibleText,
  aliceAndBobOnADocument,
  editorText,
  expectNoBrowserErrors,
  LONG_WAIT_MS,
  refusedSocketErrors,
  typeInEditor,
  WAIT_MS,
  wordPattern,
} from './helpers.js';

const poll = { timeout: WAIT_MS, interval: 100 };

it('a server restart mid-session loses nothing and both reconnect by themselves', { timeout: 75_000 }, async () => {
  const { server, doc, alice, bob } = await aliceAndBobOnADocument('Outage log');

  await typeInEditor(alice, 'end', 'Written before the outage.');
  await expect
    .poll(() => editorText(bob), { ...poll, message: "Bob has Alice's text before the outage" })
    .toBe('Written before the outage.');
  for (const u of [alice, bob]) {
    await expect.poll(() => u.status().innerText(), { ...poll, message: `${u.name}'s status before the outage` }).toMatch(/\bConnected\b/);
  }

  // Chromium's own console errors while the server is down, only for this document and only until both are back.
  const refused = refusedSocketErrors(server, doc.name);
  const stopAllowing = [alice.allowErrors(refused), bob.allowErrors(refused)];

  expect(await server.stop('SIGTERM'), 'exit code of the server after SIGTERM').toBe(0);
  for (const u of [alice, bob]) {
    await expect
      .poll(() => u.status().innerText(), { ...poll, message: `${u.name}'s status while the server is down` })
      .toMatch(/Reconnecting/);
  }

  // Both keep editing while offline, at opposite ends of the text.
  await Promise.all([typeInEditor(alice, 'end', ' Alice wrote this offline.'), typeInEditor(bob, 'start', 'Bob wrote this offline. ')]);
  expect(await editorText(alice)).toBe('Written before the outage. Alice wrote this offline.');
  expect(await editorText(bob)).toBe('Bob wrote this offline. Written before the outage.');

  await server.restart();
  // The wait includes the client's backoff (full jitter, so the next attempt can be a few
  // seconds away after a short outage).
  for (const u of [alice, bob]) {
    await expect
      .poll(() => u.status().innerText(), { timeout: LONG_WAIT_MS, interval: 100, message: `${u.name}'s status after the restart` })
      .toMatch(/\bConnected\b/);
  }
  for (const stop of stopAllowing) stop();

  const expected = 'Bob wrote this offline. Written before the outage. Alice wrote this offline.';
  await expect.poll(() => editorText(alice), { ...poll, message: "Alice's editor after the restart" }).toBe(expected);
  await expect.poll(() => editorText(bob), { ...poll, message: "Bob's editor after the restart" }).toBe(expected);
  await expect
    .poll(() => accessibleText(alice.region('People here')), { ...poll, message: 'Alice sees Bob again' })
    .toMatch(wordPattern('Bob'));
  await expect
    .poll(() => accessibleText(bob.region('People here')), { ...poll, message: 'Bob sees Alice again' })
    .toMatch(wordPattern('Alice'));

  expectNoBrowserErrors(alice, bob);
});
