import type { FastifyReply } from 'fastify';
import type { Node } from '@tiptap/pm/model';
import type { RefusalReason } from '@tandem/protocol';
import { loadConversions, type ContentInput } from '../content/formats.js';
import type { RoomRegistry } from '../rooms/registry.js';
import { sendError } from './errors.js';

/**
 * Content sent to the API (imports, PATCH) may be this large; the document's own limit applies
 * after. Converting it runs on the event loop every room shares, so it stays well below that.
 */
export const CONTENT_BODY_LIMIT = 2 * 1024 * 1024;

export type Mode = 'append' | 'replace';

const CONTENT_KEYS = ['markdown', 'html', 'text', 'json'] as const;

/** The `markdown`, `html`, `text` and `json` body fields the document API reads content from. */
export const contentProperties = {
  markdown: { type: 'string', description: 'Markdown (CommonMark with the editor’s nodes and marks)' },
  html: { type: 'string', description: 'HTML; what the editor has no node or mark for is dropped' },
  text: { type: 'string', description: 'Plain text: paragraphs apart by blank lines' },
  json: { type: 'object', description: 'ProseMirror JSON of the editor’s schema (as exported with format=json)' },
} as const;

/**
 * The content a body gives, parsed into the document schema; null when it gives none. Sends a
 * 400 (and answers undefined) when it gives more than one form or content that does not fit.
 */
export async function contentOf(
  body: Partial<Record<(typeof CONTENT_KEYS)[number], unknown>>,
  reply: FastifyReply,
): Promise<Node | null | undefined> {
  const given = CONTENT_KEYS.filter((key) => body[key] !== undefined);
  if (given.length === 0) return null;
  if (given.length > 1) {
    await sendError(reply, 400, 'bad_request', `give the content once: ${given.join(', ')} were all given`);
    return undefined;
  }
  const key = given[0]!;
  const { ContentError, parseContent } = await loadConversions();
  try {
    return parseContent({ [key]: body[key] } as ContentInput);
  } catch (error) {
    if (!(error instanceof ContentError)) throw error;
    await sendError(reply, 400, 'invalid_content', error.message);
    return undefined;
  }
}

/** Writes content into a document's live room as one update; sends the error (and answers false) when that fails. */
export async function writeToRoom(registry: RoomRegistry, name: string, content: Node, mode: Mode, reply: FastifyReply): Promise<boolean> {
  const room = await registry.open(name);
  if (!room) {
    await sendError(reply, 503, 'unavailable', `document "${name}" could not be loaded; try again later`);
    return false;
  }
  const { writeContent } = await loadConversions();
  const refused = await room.applyServerChange((doc) => writeContent(doc, content, mode));
  if (refused) await sendRefusal(reply, name, refused);
  return refused === null;
}

function sendRefusal(reply: FastifyReply, name: string, reason: RefusalReason): FastifyReply {
  switch (reason) {
    case 'read_only':
      return sendError(reply, 403, 'forbidden', `document "${name}" is read-only`);
    case 'too_large':
      return sendError(reply, 413, 'too_large', `document "${name}" would grow past its size limit (MAX_DOCUMENT_BYTES)`);
    case 'storage_backlog':
      return sendError(reply, 503, 'unavailable', 'the server cannot store edits right now; try again later');
  }
}
