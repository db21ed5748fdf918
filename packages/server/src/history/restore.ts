import { updateYFragment, yXmlFragmentToProseMirrorRootNode } from '@tiptap/y-tiptap';
import * as Y from 'yjs';
import { CONTENT_FIELD, documentSchema } from '../content/schema.js';

/**
 * Turns the document's content into a version's, as the smallest change y-prosemirror finds
 * (unchanged blocks and text stay the same Yjs items, so concurrent edits to them survive).
 * Call inside a transaction.
 */
export function restoreContent(doc: Y.Doc, versionState: Uint8Array): void {
  const version = new Y.Doc();
  try {
    Y.applyUpdate(version, versionState);
    const target = yXmlFragmentToProseMirrorRootNode(version.getXmlFragment(CONTENT_FIELD), documentSchema);
    updateYFragment(doc, doc.getXmlFragment(CONTENT_FIELD), target, { mapping: new Map(), isOMark: new Map() });
  } finally {
    version.destroy();
  }
}
