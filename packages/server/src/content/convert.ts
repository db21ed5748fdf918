import { getText, getTextSerializersFromSchema, type JSONContent } from '@tiptap/core';
import { generateHTML, generateJSON } from '@tiptap/html/server';
import { MarkdownManager } from '@tiptap/markdown';
import type { Node } from '@tiptap/pm/model';
import { updateYFragment, yXmlFragmentToProseMirrorRootNode } from '@tiptap/y-tiptap';
import * as Y from 'yjs';
import type { ContentInput, ExportFormat } from './formats.js';
import { CONTENT_FIELD, documentExtensions, documentSchema } from './schema.js';

/** A document's content in one format, with how to send it. */
export interface Exported {
  body: string | Uint8Array;
  contentType: string;
  extension: string;
}

/** Input that does not fit the document schema. */
export class ContentError extends Error {}

const markdown = new MarkdownManager({ extensions: documentExtensions });
const textSerializers = getTextSerializersFromSchema(documentSchema);

/** The document as a ProseMirror node (an empty document when nothing was written yet). */
export function proseMirrorDoc(doc: Y.Doc): Node {
  return yXmlFragmentToProseMirrorRootNode(doc.getXmlFragment(CONTENT_FIELD), documentSchema);
}

export function exportDocument(doc: Y.Doc, format: ExportFormat): Exported {
  if (format === 'yjs') return { body: Y.encodeStateAsUpdate(doc), contentType: 'application/octet-stream', extension: 'yjs' };
  const node = proseMirrorDoc(doc);
  switch (format) {
    case 'markdown':
      return { body: markdown.serialize(node.toJSON() as JSONContent), contentType: 'text/markdown; charset=utf-8', extension: 'md' };
    case 'html':
      return {
        body: generateHTML(node.toJSON() as JSONContent, documentExtensions),
        contentType: 'text/html; charset=utf-8',
        extension: 'html',
      };
    case 'text':
      return {
        body: plainText(node),
        contentType: 'text/plain; charset=utf-8',
        extension: 'txt',
      };
    case 'json':
      return { body: JSON.stringify(node.toJSON()), contentType: 'application/json; charset=utf-8', extension: 'json' };
  }
}

/** Each textblock's text (hard breaks as line breaks), apart by blank lines however deeply lists nest them. */
function plainText(node: Node): string {
  const blocks: string[] = [];
  node.descendants((child) => {
    if (!child.isTextblock) return true;
    blocks.push(getText(child, { textSerializers }));
    return false;
  });
  return blocks.join('\n\n');
}

/** Parses content into a document node of the schema; throws ContentError when it does not fit. */
export function parseContent(input: ContentInput): Node {
  const json: unknown =
    'markdown' in input
      ? markdown.parse(input.markdown)
      : 'html' in input
        ? generateJSON(input.html, documentExtensions)
        : 'text' in input
          ? textToJSON(input.text)
          : input.json;
  try {
    const node = documentSchema.nodeFromJSON(json);
    node.check();
    if (node.type !== documentSchema.topNodeType) throw new Error(`the top node must be "${documentSchema.topNodeType.name}"`);
    return node;
  } catch (error) {
    throw new ContentError(`the content does not fit the document schema: ${(error as Error).message}`);
  }
}

/** Plain text: paragraphs apart by blank lines, line breaks within them kept. */
function textToJSON(text: string): JSONContent {
  const paragraphs = text
    .replace(/\r\n?/g, '\n')
    .split(/\n{2,}/)
    .filter((block) => block.trim() !== '');
  return {
    type: 'doc',
    content: paragraphs.map((block) => ({
      type: 'paragraph',
      content: block
        .split('\n')
        .flatMap((line, i): JSONContent[] => [...(i > 0 ? [{ type: 'hardBreak' }] : []), ...(line ? [{ type: 'text', text: line }] : [])]),
    })),
  };
}

/**
 * Writes content into the document's fragment, in the transaction the caller runs: 'replace'
 * makes the document equal to it, 'append' adds its blocks after the existing ones. Both diff
 * against what is there (y-tiptap's updateYFragment, as the editor does for its own changes),
 * so blocks that stay the same keep their identity and concurrent edits to them are not lost.
 */
export function writeContent(doc: Y.Doc, content: Node, mode: 'append' | 'replace'): void {
  const current = proseMirrorDoc(doc);
  const target = mode === 'replace' ? content : current.copy(current.content.append(content.content));
  updateYFragment(doc, doc.getXmlFragment(CONTENT_FIELD), target, { mapping: new Map(), isOMark: new Map() });
}
