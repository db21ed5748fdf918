/**
 * Export and import in the web app: the document page's Download menu saves the document in the
 * chosen format (named after its title), and a Markdown file picked or dropped on the documents
 * page becomes a new document that opens with its content.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { artifactsDir, expectNoBrowserErrors, launchBrowser, startServer, typeInEditor, user, WAIT_MS } from './helpers.js';

const poll = { timeout: WAIT_MS, interval: 100 };

const ROADMAP = '# Roadmap\n\nWhat comes next.\n\n## Spring\n\n- **Import** and export\n\n## Summer\n\n1. Ship it\n';

describe('download and import', () => {
  it('Ada downloads the document as Markdown from the Download menu', { timeout: 40_000 }, async () => {
    const server = await startServer();
    const response = await fetch(`${server.url}/api/documents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Trip plans', markdown: '# Trip plans\n\n- *pack* bags\n\nLeaving on Friday' }),
    });
    const { name } = (await response.json()) as { name: string };
    const browser = await launchBrowser();
    const ada = await user(browser, server, 'Ada', { path: `/d/${name}` });
    await ada.editor().waitFor();
    await typeInEditor(ada, 'end', ' at noon');
    await expect.poll(async () => (await ada.editor().textContent()) ?? '', poll).toContain('Leaving on Friday at noon');
    await ada.page.getByRole('status').filter({ hasText: 'All changes saved' }).waitFor();

    await ada.page.getByText('Download', { exact: true }).click();
    await ada.page.screenshot({ path: join(artifactsDir, 'download-menu-1280x800.png') });
    const [download] = await Promise.all([
      ada.page.waitForEvent('download'),
      ada.page.getByRole('link', { name: 'Markdown (.md)', exact: true }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('Trip plans.md');
    expect(await readFile(await download.path(), 'utf8')).toBe('# Trip plans\n\n- *pack* bags\n\nLeaving on Friday at noon');
    expectNoBrowserErrors(ada);
  });

  it('Ada imports a Markdown file from the documents page, with the file picker and by dropping it', { timeout: 40_000 }, async () => {
    const server = await startServer();
    const browser = await launchBrowser();
    const ada = await user(browser, server, 'Ada');
    const page = ada.page;

    await page.getByRole('heading', { name: 'Documents', exact: true }).waitFor();
    await page.screenshot({ path: join(artifactsDir, 'import-1280x800.png') });
    await page.getByLabel('Import a Markdown, HTML or text file', { exact: true }).setInputFiles({
      name: 'Roadmap.md',
      mimeType: 'text/markdown',
      buffer: Buffer.from(ROADMAP),
    });
    await page.waitForURL((url) => url.pathname.startsWith('/d/roadmap-'));
    await ada.editor().waitFor();
    for (const [level, heading] of [
      [1, 'Roadmap'],
      [2, 'Spring'],
      [2, 'Summer'],
    ] as const) {
      await ada.editor().getByRole('heading', { level, name: heading, exact: true }).waitFor();
    }
    expect(await page.locator('.doc-title').textContent()).toBe('Roadmap');

    await page
      .getByRole('link', { name: /Documents/ })
      .first()
      .click();
    await page.getByRole('heading', { name: 'Documents', exact: true }).waitFor();
    const dropped = await page.evaluateHandle(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(['# Dropped notes\n\nFrom the desktop.'], 'Dropped.md', { type: 'text/markdown' }));
      return transfer;
    });
    await page.locator('main').dispatchEvent('drop', { dataTransfer: dropped });
    await page.waitForURL((url) => url.pathname.startsWith('/d/dropped-'));
    await ada.editor().getByRole('heading', { level: 1, name: 'Dropped notes', exact: true }).waitFor();
    expectNoBrowserErrors(ada);
  });
});
