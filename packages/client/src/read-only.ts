import * as Y from 'yjs';

/** What the handle says when it undid (or could not undo) a local change it may not make. */
export const REFUSED_CHANGE = {
  undone: 'You may not edit this document; the local change was undone.',
  diverged:
    "You may not edit this document: your local deletions cannot be undone, so your copy differs from the server's until you reopen it.",
} as const;

/**
 * Undoes a local change that the server would refuse (the handle may not edit), so the document
 * never silently differs from the server's: what this client inserted in `transaction` is
 * deleted again, in a transaction of `origin` once Yjs has finished this one. A deletion of
 * others' content cannot be undone in Yjs (their content is gone): then the document has
 * diverged. Returns what happened.
 */
export function undoRefusedChange(doc: Y.Doc, transaction: Y.Transaction, origin: unknown): 'nothing' | 'undone' | 'diverged' {
  const clientId = doc.clientID;
  const from = transaction.beforeState.get(clientId) ?? 0;
  const to = transaction.afterState.get(clientId) ?? 0;
  let deletedOthers = false;
  transaction.deleteSet.clients.forEach((ranges, client) => {
    if (client !== clientId || ranges.some((range) => range.clock < from)) deletedOthers = true;
  });
  if (to === from && !deletedOthers) return 'nothing';
  if (to > from) {
    queueMicrotask(() =>
      doc.transact((undo) => {
        for (const struct of doc.store.clients.get(clientId) ?? []) {
          if (struct.id.clock >= from && struct.id.clock < to && struct instanceof Y.Item && !struct.deleted) struct.delete(undo);
        }
      }, origin),
    );
  }
  return deletedOthers ? 'diverged' : 'undone';
}
