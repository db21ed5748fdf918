/**
 * The web app as it is delivered: a "Page not found" page (with status 404) for paths it has no
 * page for, a link to a document that does not exist that offers to create it, compressed and
 * cached static files without source maps, and the editor's code loaded only for a document.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { artifactsDir, expectNoBrowserErrors, launchBrowser, startServer, typeInEditor, editorText, user, WAIT_MS } from './helpers.js';

const poll = { timeout: WAIT_MS, interval: 100 };

describe('pages that are not there', () => {
  it('an unknown path answers 404 with a "Page not found" page that leads back to the documents', { timeout: 30_000 }, async () => {
    const server = await startServer();
    const browser = await launchBrowser();
    const visitor = await user(browser, server, 'Visitor', { join: false });
    const allow404 = visitor.allowErrors(/status of 404/);

    const response = await visitor.page.goto('/no/such/page');
    expect(response?.status()).toBe(404);
    await visitor.page.getByRole('heading', { name: 'Page not found', exact: true }).waitFor();
    expect(await visitor.page.title()).toBe('Page not found · Tandem');
    await visitor.page.screenshot({ path: join(artifactsDir, 'not-found-1280x800.png') });
    allow404();

    await visitor.page.getByRole('link', { name: '← Documents', exact: true }).click();
    await visitor.page.waitForURL((url) => url.pathname === '/');
    await visitor.page.getByRole('textbox', { name: 'Your name', exact: true }).waitFor();

    expectNoBrowserErrors(visitor);
  });

  it('a link to a document that does not exist says so, and "Create" creates it and opens the editor', { timeout: 30_000 }, async () => {
    const server = await startServer();
    const browser = await launchBrowser();
    const alice = await user(browser, server, 'Alice');
    // The lookup that finds no document is logged by the browser as a failed request.
    const allow404 = alice.allowErrors(/status of 404/);
    await alice.page.goto('/d/does-not-exist');

    await alice.page.getByRole('heading', { name: 'No document named “does-not-exist”', exact: true }).waitFor();
    await alice.page.screenshot({ path: join(artifactsDir, 'missing-document-1280x800.png') });
    // Looking did not create it: the room was not joined.
    expect((await fetch(`${server.url}/api/documents/does-not-exist`)).status).toBe(404);
    allow404();

    await alice.page.getByRole('button', { name: /^Create/ }).click();
    await alice.editor().waitFor();
    expect(new URL(alice.page.url()).pathname).toBe('/d/does-not-exist');
    await expect.poll(() => alice.editor().getAttribute('contenteditable'), { ...poll, message: 'the editor is editable' }).toBe('true');
    await typeInEditor(alice, 'end', 'First words.');
    await expect.poll(() => editorText(alice), poll).toBe('First words.');

    const created = await fetch(`${server.url}/api/documents/does-not-exist`);
    expect([created.status, ((await created.json()) as { title: string }).title]).toEqual([200, 'does-not-exist']);
    expectNoBrowserErrors(alice);
  });
});

describe('static files', () => {
  it('are compressed, hashed assets are cached for good, the page is revalidated, and no source map is served', async () => {
    const server = await startServer();
    const page = await fetch(`${server.url}/`, { headers: { 'accept-encoding': 'br' } });
    expect(page.headers.get('content-encoding')).toBe('br');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1]!);
    expect(assets.some((path) => path.endsWith('.js'))).toBe(true);

    for (const path of assets) {
      for (const encoding of ['br', 'gzip']) {
        const asset = await fetch(`${server.url}${path}`, { headers: { 'accept-encoding': encoding } });
        expect([path, asset.status, asset.headers.get('content-encoding')]).toEqual([path, 200, encoding]);
        expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
        const text = await asset.text();
        expect(text).not.toContain('sourceMappingURL');
      }
      expect((await fetch(`${server.url}${path}.map`)).status).toBe(404);
    }
  });

  it('the join screen and the document list load without the editor, compressed', { timeout: 30_000 }, async () => {
    const server = await startServer();
    const browser = await launchBrowser();
    const scripts: Array<{ url: string; encoding: string | null }> = [];
    const context = await browser.newContext({ baseURL: server.url }); // closed with the browser
    const page = await context.newPage();
    page.on('response', async (response) => {
      if (response.request().resourceType() === 'script')
        scripts.push({ url: response.url(), encoding: await response.headerValue('content-encoding') });
    });

    await page.goto('/');
    await page.getByRole('textbox', { name: 'Your name', exact: true }).fill('Alice');
    await page.getByRole('button', { name: 'Join', exact: true }).click();
    await page.getByRole('heading', { name: 'Documents', exact: true }).waitFor();
    expect(scripts.length).toBeGreaterThan(0);
    expect(scripts.filter((script) => /DocumentPage/.test(script.url))).toEqual([]);
    for (const script of scripts) expect(script.encoding, script.url).toMatch(/^(br|gzip)$/);

    // The editor's code arrives with the first document.
    await page.getByRole('button', { name: 'New document', exact: true }).click();
    await page.getByRole('textbox', { name: 'Title', exact: true }).fill('Split');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('textbox', { name: 'Document', exact: true }).waitFor();
    expect(scripts.filter((script) => /DocumentPage/.test(script.url))).toHaveLength(1);
  });
});
