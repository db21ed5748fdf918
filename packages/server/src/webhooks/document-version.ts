import * as Y from 'yjs';

/**
 * The `version` and `size` of a document.changed event. The version counts every inserted item
 * (the state vector's clocks) and every deleted one (Yjs never reuses a clock and never undeletes),
 * so it grows with each change and is the same for the same content on any node. Both walk the
 * whole document, which is why they are computed once per debounced event and not per change.
 */
export function documentVersion(doc: Y.Doc): { version: number; size: number } {
  let version = 0;
  for (const clock of Y.decodeStateVector(Y.encodeStateVector(doc)).values()) version += clock;
  for (const ranges of Y.createDeleteSetFromStructStore(doc.store).clients.values()) {
    for (const range of ranges) version += range.len;
  }
  return { version, size: Y.encodeStateAsUpdate(doc).byteLength };
}
