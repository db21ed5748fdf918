/**
 * The /admin page against a server started with ADMIN_TOKEN: signing in with the token, the
 * "Rooms" table with the members of a live document, and disconnecting one of them; and the page
 * on a server without ADMIN_TOKEN, where the admin API is off.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  accessibleText,
  aliceAndBobOnADocument,
  artifactsDir,
  expectNoBrowserErrors,
  launchBrowser,
  startServer,
  typeInEditor,
  user,
  WAIT_MS,
  wordPattern,
  type User,
} from './helpers.js';

const poll = { timeout: WAIT_MS, interval: 100 };
const ADMIN_TOKEN = 'e2e-admin-token-0123456789';

async function signIn(admin: User, token: string): Promise<void> {
  await admin.page.getByLabel('Admin token', { exact: true }).fill(token);
  await admin.page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

describe('the admin page', () => {
  it('lists Bob in the "Rooms" table, and "Disconnect" takes him out of the room for good', { timeout: 60_000 }, async () => {
    const { server, browser, doc, alice, bob } = await aliceAndBobOnADocument('Admin notes', { adminToken: ADMIN_TOKEN });
    const admin = await user(browser, server, 'Admin', { path: '/admin', join: false });

    // A wrong token is refused (the browser logs the 401), and the page asks again.
    const allowRefusal = admin.allowErrors(/status of 401/);
    await signIn(admin, 'not-the-admin-token');
    await admin.page.getByRole('alert').filter({ hasText: 'did not accept that token' }).waitFor();
    allowRefusal();
    await signIn(admin, ADMIN_TOKEN);

    const rooms = admin.page.getByRole('table', { name: 'Rooms', exact: true });
    const room = rooms.getByRole('row').filter({ hasText: doc.name });
    for (const name of ['Alice', 'Bob']) await room.getByRole('button', { name: `Disconnect ${name}`, exact: true }).waitFor();
    await admin.page.screenshot({ path: join(artifactsDir, 'admin-1280x800.png') });

    await room.getByRole('button', { name: 'Disconnect Bob', exact: true }).click();

    const bobDisconnected = bob.page.getByRole('status').filter({ hasText: 'Disconnected by an administrator' });
    await bobDisconnected.waitFor();
    await expect
      .poll(() => accessibleText(rooms), { ...poll, message: 'the "Rooms" table no longer lists Bob' })
      .not.toMatch(wordPattern('Bob'));
    expect(await accessibleText(rooms)).toMatch(wordPattern('Alice'));
    await alice.region('Activity').getByText('An administrator disconnected Bob').first().waitFor();

    // Bob's page does not reconnect by itself: well past its first retries (and a refresh of the admin page), he is still out.
    await bob.page.waitForTimeout(3_000);
    await bobDisconnected.waitFor();
    expect(await accessibleText(rooms)).not.toMatch(wordPattern('Bob'));

    // The token lasts for the tab (a reload keeps it) until "Forget token".
    await admin.page.reload();
    await rooms.waitFor();
    await admin.page.getByRole('button', { name: 'Forget token', exact: true }).click();
    await admin.page.getByLabel('Admin token', { exact: true }).waitFor();
    expect(await admin.page.evaluate(() => sessionStorage.length)).toBe(0);

    expectNoBrowserErrors(alice, bob, admin);
  });

  it(
    '"Make read-only" stops editing on every page until "Make editable", and "Delete" removes the document',
    { timeout: 60_000 },
    async () => {
      const { server, browser, doc, alice, bob } = await aliceAndBobOnADocument('Handbook', { adminToken: ADMIN_TOKEN });
      const admin = await user(browser, server, 'Admin', { path: '/admin', join: false });
      await signIn(admin, ADMIN_TOKEN);
      const room = admin.page.getByRole('table', { name: 'Rooms', exact: true }).getByRole('row').filter({ hasText: doc.name });

      await room.getByRole('button', { name: 'Make read-only', exact: true }).click();
      for (const person of [alice, bob]) {
        await expect
          .poll(() => person.editor().getAttribute('contenteditable'), { ...poll, message: `${person.name} cannot edit` })
          .toBe('false');
        await person.page.getByText('Read-only', { exact: true }).waitFor();
      }
      await alice.region('Activity').getByText('An administrator made the document read-only').first().waitFor();
      await room.getByText('read-only', { exact: true }).waitFor();
      await admin.page.screenshot({ path: join(artifactsDir, 'admin-read-only-1280x800.png') });

      await room.getByRole('button', { name: 'Make editable', exact: true }).click();
      await expect.poll(() => bob.editor().getAttribute('contenteditable'), { ...poll, message: 'Bob can edit again' }).toBe('true');
      await typeInEditor(bob, 'end', 'editable again');
      await expect.poll(() => alice.editor().textContent(), { ...poll, message: 'Alice sees the edit' }).toContain('editable again');

      admin.page.once('dialog', (dialog) => void dialog.accept());
      await room.getByRole('button', { name: 'Delete', exact: true }).click();
      for (const person of [alice, bob]) await person.page.getByRole('status').filter({ hasText: 'This document was deleted' }).waitFor();
      await expect.poll(() => room.count(), { ...poll, message: 'the room is gone from the table' }).toBe(0);
      const listed = (await (await fetch(`${server.url}/api/documents`)).json()) as { documents: Array<{ name: string }> };
      expect(listed.documents.map((d) => d.name)).not.toContain(doc.name);
      expectNoBrowserErrors(alice, bob, admin);
    },
  );

  it('says that the admin API is off when the server runs without ADMIN_TOKEN', { timeout: 45_000 }, async () => {
    const server = await startServer();
    const browser = await launchBrowser();
    const admin = await user(browser, server, 'Admin', { path: '/admin', join: false });
    admin.allowErrors(/status of 403/);

    await signIn(admin, ADMIN_TOKEN);

    await admin.page.getByRole('alert').filter({ hasText: 'The admin API is off' }).waitFor();
    expect(await admin.page.getByRole('table', { name: 'Rooms', exact: true }).count()).toBe(0);
    expectNoBrowserErrors(admin);
  });
});
