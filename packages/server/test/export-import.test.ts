import { getSchema } from '@tiptap/core';
import type { Schema } from '@tiptap/pm/model';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { documentKit } from '../../../apps/web/src/document-kit.js';
import { documentSchema } from '../src/content/schema.js';
import { startServer } from './helpers.js';

const MARKDOWN = [
  '# Plans',
  '',
  'Some **bold**, some *italic* and a [link](https://example.com/docs).',
  '',
  '## Next steps',
  '',
  '- first',
  '- second',
  '',
  '1. one',
  '2. two',
  '',
  '```ts',
  'const answer = 42;',
  '```',
].join('\n');

async function create(url: string, body: Record<string, unknown>): Promise<{ status: number; json: any }> {
  const response = await fetch(`${url}/api/documents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

async function download(url: string, name: string, format: string): Promise<Response> {
  return fetch(`${url}/api/documents/${encodeURIComponent(name)}/export?format=${format}`);
}

/** A schema's nodes and marks with their attributes and content rules, comparable across instances. */
function shape(schema: Schema): unknown {
  const attrs = (type: { spec: { attrs?: object } }) => Object.keys(type.spec.attrs ?? {}).sort();
  return {
    nodes: Object.values(schema.nodes).map((node) => [node.name, node.spec.content ?? '', node.spec.marks ?? '', attrs(node)]),
    marks: Object.values(schema.marks).map((mark) => [mark.name, attrs(mark)]),
  };
}

describe('export and import', () => {
  it('converts with the same schema as the web app’s editor', () => {
    expect(shape(documentSchema)).toEqual(shape(getSchema([documentKit])));
  });

  it('imports Markdown into a new document and exports it back the same', async () => {
    const server = await startServer();
    const created = await create(server.url, { title: 'Plans', markdown: MARKDOWN });
    expect(created).toMatchObject({ status: 201, json: { title: 'Plans' } });
    const exported = await download(server.url, created.json.name, 'markdown');
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    expect(exported.headers.get('content-disposition')).toBe(`attachment; filename="Plans.md"; filename*=UTF-8''Plans.md`);
    expect((await exported.text()).trim()).toBe(MARKDOWN);
  });

  it('exports HTML, text, ProseMirror JSON and the Yjs update, each with its type', async () => {
    const server = await startServer();
    const { name } = (await create(server.url, { title: 'Café: “notes”/2026', markdown: MARKDOWN })).json;

    const html = await download(server.url, name, 'html');
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html.headers.get('content-disposition')).toBe(
      `attachment; filename="Caf_ _notes_ 2026.html"; filename*=UTF-8''Caf%C3%A9%20%E2%80%9Cnotes%E2%80%9D%202026.html`,
    );
    const page = await html.text();
    for (const part of ['<h1>Plans</h1>', '<h2>Next steps</h2>', '<strong>bold</strong>', '<em>italic</em>', '<ul><li><p>first</p></li>']) {
      expect(page).toContain(part);
    }
    expect(page).toMatch(/<a [^>]*href="https:\/\/example.com\/docs"[^>]*>link<\/a>/);
    expect(page).toContain('<ol><li><p>one</p></li><li><p>two</p></li></ol>');
    expect(page).toContain('<pre><code class="language-ts">const answer = 42;</code></pre>');

    const text = await download(server.url, name, 'text');
    expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await text.text()).toBe(
      'Plans\n\nSome bold, some italic and a link.\n\nNext steps\n\nfirst\n\nsecond\n\none\n\ntwo\n\nconst answer = 42;',
    );

    const json = await download(server.url, name, 'json');
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const doc = (await json.json()) as any;
    expect(doc.type).toBe('doc');
    expect(doc.content.map((node: any) => node.type)).toEqual([
      'heading',
      'paragraph',
      'heading',
      'bulletList',
      'orderedList',
      'codeBlock',
    ]);

    const yjs = await download(server.url, name, 'yjs');
    expect(yjs.headers.get('content-type')).toBe('application/octet-stream');
    const copy = new Y.Doc();
    Y.applyUpdate(copy, new Uint8Array(await yjs.arrayBuffer()));
    expect(copy.getXmlFragment('content').length).toBe(6);
    expect(copy.getXmlFragment('content').get(0).toString()).toBe('<heading level="1">Plans</heading>');
  });

  it('round-trips HTML and plain text imports', async () => {
    const server = await startServer();
    const fromHtml = await create(server.url, {
      title: 'From HTML',
      html: '<h2>Agenda</h2><p>Read <a href="https://example.com">this</a> <strong>now</strong> <em>please</em></p><ol><li>a</li><li>b</li></ol><pre><code>x = 1</code></pre><script>alert(1)</script>',
    });
    expect(fromHtml.status).toBe(201);
    expect(await (await download(server.url, fromHtml.json.name, 'markdown')).text()).toBe(
      '## Agenda\n\nRead [this](https://example.com) **now** *please*\n\n1. a\n2. b\n\n```\nx = 1\n```',
    );
    const fromText = await create(server.url, { title: 'From text', text: 'First paragraph\nwith a break\n\nSecond' });
    expect(await (await download(server.url, fromText.json.name, 'html')).text()).toBe(
      '<p>First paragraph<br>with a break</p><p>Second</p>',
    );
    expect(await (await download(server.url, fromText.json.name, 'text')).text()).toBe('First paragraph\nwith a break\n\nSecond');
  });

  it('exports an empty document, and refuses unknown formats, two contents at once and missing documents', async () => {
    const server = await startServer();
    const { name } = (await create(server.url, { title: 'Empty' })).json;
    expect(await (await download(server.url, name, 'markdown')).text()).toBe('');
    const bad = await download(server.url, name, 'pdf');
    expect([bad.status, ((await bad.json()) as any).code]).toEqual([400, 'bad_request']);
    expect((await download(server.url, 'nothing-here', 'html')).status).toBe(404);
    const both = await create(server.url, { title: 'Both', markdown: '# a', html: '<h1>a</h1>' });
    expect(both).toMatchObject({ status: 400, json: { code: 'bad_request', error: expect.stringMatching(/once/) } });
  });
});
