/**
 * Two people in one document, each in their own browser context, through the real join screen:
 * presence, shared editing (also concurrent), formatting, remote carets, leaving, and creating a
 * document from the document list.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  accessibleText,
  aliceAndBobOnADocument,
  artifactsDir,
  editorText,
  expectNoBrowserErrors,
  launchBrowser,
  startServer,
  textsWithoutCarets,
  typeInEditor,
  user,
  WAIT_MS,
  wordPattern,
  type User,
} from './helpers.js';

const poll = { timeout: WAIT_MS, interval: 100 };

function peopleHere(u: User): Promise<string> {
  return accessibleText(u.region('People here'));
}

describe('two people in one document', () => {
  it('both appear under "People here" for each other', { timeout: 45_000 }, async () => {
    const { alice, bob } = await aliceAndBobOnADocument();

    for (const viewer of [alice, bob]) {
      for (const name of ['Alice', 'Bob']) {
        await expect
          .poll(() => peopleHere(viewer), { ...poll, message: `${viewer.name} sees ${name} under "People here"` })
          .toMatch(wordPattern(name));
      }
    }
    await alice.region('Activity').getByText('Bob joined').first().waitFor();

    expectNoBrowserErrors(alice, bob);
  });

  it('text typed by one appears for the other, also when both type at the same time', { timeout: 45_000 }, async () => {
    const { alice, bob } = await aliceAndBobOnADocument();

    await typeInEditor(alice, 'end', 'Hello from Alice.');
    await expect.poll(() => editorText(bob), { ...poll, message: "Bob's editor shows Alice's text" }).toBe('Hello from Alice.');

    await typeInEditor(bob, 'end', ' Bob was here.');
    await expect
      .poll(() => editorText(alice), { ...poll, message: "Alice's editor shows Bob's text" })
      .toBe('Hello from Alice. Bob was here.');

    // Both at once, at opposite ends of the paragraph, keystroke by keystroke.
    await Promise.all([typeInEditor(alice, 'start', 'Alice typed this first. '), typeInEditor(bob, 'end', ' And Bob this last.')]);

    const expected = 'Alice typed this first. Hello from Alice. Bob was here. And Bob this last.';
    await expect.poll(() => editorText(alice), { ...poll, message: "Alice's editor after concurrent typing" }).toBe(expected);
    await expect.poll(() => editorText(bob), { ...poll, message: "Bob's editor after concurrent typing" }).toBe(expected);

    expectNoBrowserErrors(alice, bob);
  });

  it('bold made by one shows as <strong> for the other', { timeout: 45_000 }, async () => {
    const { alice, bob } = await aliceAndBobOnADocument();

    await typeInEditor(alice, 'end', 'Make this word bold');
    await expect.poll(() => editorText(bob), poll).toBe('Make this word bold');
    // Select the last word with the keyboard, then use the toolbar.
    for (let i = 0; i < 'bold'.length; i++) await alice.page.keyboard.press('Shift+ArrowLeft');
    await alice.page.getByRole('button', { name: 'Bold', exact: true }).click();

    await expect
      .poll(() => textsWithoutCarets(alice.editor().locator('strong')), { ...poll, message: 'Alice sees <strong>bold</strong>' })
      .toEqual(['bold']);
    await expect
      .poll(() => textsWithoutCarets(bob.editor().locator('strong')), { ...poll, message: 'Bob sees <strong>bold</strong>' })
      .toEqual(['bold']);
    expect(await editorText(bob)).toBe('Make this word bold');

    expectNoBrowserErrors(alice, bob);
  });

  it("shows the other person's caret with their name", { timeout: 45_000 }, async () => {
    const { alice, bob } = await aliceAndBobOnADocument();

    await typeInEditor(alice, 'end', 'Alice is writing here.');
    await expect.poll(() => editorText(bob), poll).toBe('Alice is writing here.');
    await typeInEditor(bob, 'start', 'Bob starts here. ');

    const caretLabel = (viewer: User, name: string) =>
      viewer.page.locator('.collaboration-carets__caret .collaboration-carets__label').filter({ hasText: new RegExp(`^\\s*${name}\\s*$`) });
    await caretLabel(alice, 'Bob').waitFor({ state: 'visible' });
    await caretLabel(bob, 'Alice').waitFor({ state: 'visible' });
    // Nobody sees a caret of their own.
    expect(await caretLabel(alice, 'Alice').count()).toBe(0);
    expect(await caretLabel(bob, 'Bob').count()).toBe(0);

    expectNoBrowserErrors(alice, bob);
  });

  it('when Bob closes his page, Alice sees "Bob left" and Bob leaves "People here"', { timeout: 45_000 }, async () => {
    const { alice, bob } = await aliceAndBobOnADocument();
    await expect.poll(() => peopleHere(alice), { ...poll, message: 'Alice sees Bob before he leaves' }).toMatch(wordPattern('Bob'));

    await bob.close();

    await alice.region('Activity').getByText('Bob left').first().waitFor();
    await expect.poll(() => peopleHere(alice), { ...poll, message: 'Bob is gone from "People here"' }).not.toMatch(wordPattern('Bob'));
    expect(await peopleHere(alice)).toMatch(wordPattern('Alice'));

    expectNoBrowserErrors(alice, bob);
  });
});

describe('documents', () => {
  it('"New document" creates a document at /d/<name> that another person finds in the list', { timeout: 45_000 }, async () => {
    const server = await startServer();
    const browser = await launchBrowser();

    const alice = await user(browser, server, 'Alice');
    await alice.page.getByRole('button', { name: 'New document', exact: true }).click();
    await alice.page.getByRole('textbox', { name: 'Title', exact: true }).fill('Launch plan');
    await alice.page.getByRole('button', { name: 'Create', exact: true }).click();
    await alice.page.waitForURL(/\/d\/[^/?#]+$/);
    const name = decodeURIComponent(new URL(alice.page.url()).pathname.slice('/d/'.length));
    await alice.editor().waitFor();

    // The server knows it under that name and title.
    const listed = (await (await fetch(`${server.url}/api/documents`)).json()) as { documents: Array<{ name: string; title: string }> };
    expect(listed.documents.map((d) => [d.name, d.title])).toContainEqual([name, 'Launch plan']);

    const bob = await user(browser, server, 'Bob');
    const link = bob.page.getByRole('link', { name: /Launch plan/ });
    await link.waitFor();
    await bob.page.screenshot({ path: join(artifactsDir, 'document-list-1280x800.png') });
    await link.click();
    await bob.page.waitForURL((url) => url.pathname === `/d/${encodeURIComponent(name)}` || url.pathname === `/d/${name}`);
    await bob.editor().waitFor();
    await expect.poll(() => peopleHere(bob), { ...poll, message: 'Bob finds Alice in the new document' }).toMatch(wordPattern('Alice'));

    expectNoBrowserErrors(alice, bob);
  });
});
