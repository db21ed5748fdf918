import { getSchema, type Extensions } from '@tiptap/core';
import StarterKit from '@tiptap/starter-kit';

/** The Y.XmlFragment of a document's Y.Doc that the web app's editor binds to (Collaboration's `field`). */
export const CONTENT_FIELD = 'content';

/**
 * The editor's extensions as far as they shape the document: StarterKit, configured as in
 * apps/web/src/document-kit.ts. The web app may not import the server (nor the server the web
 * app), and the protocol package stays free of TipTap for SDK users, so this mirrors the
 * editor's list instead of sharing a module with it; export-import.test.ts checks that both
 * give the same schema. Collaboration and carets add no nodes or marks.
 */
export const documentExtensions: Extensions = [
  StarterKit.configure({ undoRedo: false, link: { openOnClick: false, autolink: true, defaultProtocol: 'https' } }),
];

/** The ProseMirror schema of every document. */
export const documentSchema = getSchema(documentExtensions);
