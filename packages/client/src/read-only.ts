import { canEdit, type Rights } from '@tandem/protocol';
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

export interface EditRightsEvents {
  /** A local change was refused here: undone, or (`diverged`) it could not be. */
  refused(message: string): void;
  /** Rights or `diverged` changed. */
  changed(): void;
  /** The handle may not edit now: nothing local is waiting to be saved. */
  cannotEdit(): void;
}

/**
 * What this handle may do to the document, and what follows when it may not: local changes are
 * undone as they happen, and `diverged` says when one could not be (or reached the server first).
 */
export class EditRights {
  #rights: Rights = 'write';
  #diverged = false;
  readonly #doc: Y.Doc;
  /** The handle's own transactions (remote changes, undos) are not the user's edits. */
  readonly #origin: unknown;
  readonly #events: EditRightsEvents;

  constructor(doc: Y.Doc, origin: unknown, events: EditRightsEvents) {
    this.#doc = doc;
    this.#origin = origin;
    this.#events = events;
  }

  get rights(): Rights {
    return this.#rights;
  }

  get canEdit(): boolean {
    return canEdit(this.#rights);
  }

  get diverged(): boolean {
    return this.#diverged;
  }

  set(rights: Rights): void {
    this.#rights = rights;
    if (!canEdit(rights)) this.#events.cannotEdit();
  }

  /** The server refused an edit made before this handle knew it may not edit. */
  refusedByServer(): void {
    if (this.#diverged) return;
    this.#diverged = true;
    this.#events.changed();
  }

  /** A local change without edit rights is undone (see undoRefusedChange), and the handle says so. */
  readonly afterTransaction = (transaction: Y.Transaction): void => {
    if (canEdit(this.#rights) || transaction.origin === this.#origin || !transaction.local) return;
    const undone = undoRefusedChange(this.#doc, transaction, this.#origin);
    if (undone === 'nothing') return;
    if (undone === 'diverged') this.#diverged = true;
    this.#events.refused(REFUSED_CHANGE[undone]);
    this.#events.changed();
  };
}
