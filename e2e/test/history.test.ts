/**
 * Version history in the web app: Ada saves a named version and edits on; Grace previews that
 * version in the History panel (changes since the previous one marked) and restores it, and Ada
 * sees the restored text live, with the restore in the activity.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { artifactsDir, editorText, expectNoBrowserErrors, newDocument, typeInEditor, user, WAIT_MS } from './helpers.js';

const poll = { timeout: WAIT_MS, interval: 100 };

describe('version history', () => {
  it('previews a named version and restores it for everyone', { timeout: 60_000 }, async () => {
    const { server, browser, path } = await newDocument('History notes', { flags: ['--version-quiet', '500'] });
    const ada = await user(browser, server, 'Ada', { path });
    await ada.editor().waitFor();

    await typeInEditor(ada, 'end', 'The first draft of our plan.');
    await ada.page.getByRole('button', { name: 'History', exact: true }).click();
    const adaHistory = ada.region('Version history');
    await adaHistory.getByRole('button', { name: 'Save version…' }).click();
    await adaHistory.getByRole('textbox', { name: 'Version name' }).fill('First draft');
    await adaHistory.getByRole('button', { name: 'Save', exact: true }).click();
    await adaHistory.getByRole('button', { name: /First draft/ }).waitFor();
    await adaHistory.getByRole('button', { name: 'Close history' }).click();

    await typeInEditor(ada, 'end', ' Then everything changed.');
    await ada.page.keyboard.press('Enter');
    await ada.page.keyboard.type('A whole new paragraph.', { delay: 10 });
    const edited = 'The first draft of our plan. Then everything changed.\nA whole new paragraph.';
    await expect.poll(() => editorText(ada), { ...poll, message: "Ada's edits" }).toBe(edited);

    const grace = await user(browser, server, 'Grace', { path });
    await grace.editor().waitFor();
    await expect.poll(() => editorText(grace), { ...poll, message: 'Grace sees the document' }).toBe(edited);
    // Ada's later edits become an automatic version once her typing pauses.
    await grace.page.getByRole('button', { name: 'History', exact: true }).click();
    const history = grace.region('Version history');
    await history.getByRole('button', { name: /First draft/ }).click();
    const preview = history.getByRole('document', { name: 'Version preview' });
    await expect
      .poll(() => preview.innerText(), { ...poll, message: 'the preview shows the version' })
      .toContain('The first draft of our plan.');
    await grace.page.screenshot({ path: join(artifactsDir, 'history-panel.png') });

    await history.getByRole('button', { name: 'Restore this version' }).click();
    await expect.poll(() => editorText(ada), { ...poll, message: 'Ada sees the restored text live' }).toBe('The first draft of our plan.');
    await expect.poll(() => editorText(grace), { ...poll, message: "Grace's editor is restored" }).toBe('The first draft of our plan.');
    await ada.region('Activity').getByText('Grace restored the version “First draft”').waitFor();

    // The restore is Grace's own edit: her undo takes it back.
    await grace.editor().click();
    await grace.page.keyboard.press('Control+z');
    await expect.poll(() => editorText(ada), { ...poll, message: "Grace's undo reaches Ada" }).toBe(edited);

    // An automatic version exists too (after the pause), previewed with its changes marked.
    await ada.page.getByRole('button', { name: 'History', exact: true }).click();
    const adaList = ada.region('Version history');
    await adaList.getByRole('list', { name: 'Versions' }).getByRole('button').first().click();
    await ada.region('Version history').getByRole('document', { name: 'Version preview' }).waitFor();
    await ada.page.screenshot({ path: join(artifactsDir, 'history-diff.png') });

    expectNoBrowserErrors(ada, grace);
  });
});
