import type { JSONContent } from '@tiptap/core';

/** Marks the preview editor renders as <ins> and <del> (see HistoryPanel's DiffMarks). */
export const INSERTED = 'diffInserted';
export const REMOVED = 'diffRemoved';
/** Token comparisons (blocks × blocks, words × words) beyond which changed blocks are marked whole. */
const MAX_CELLS = 400_000;

type Op<T> = { kind: 'same' | 'added' | 'removed'; item: T };

/** A longest-common-subsequence diff of two lists by key; null when it would cost too much. */
function diff<T>(before: T[], after: T[], key: (item: T) => string): Op<T>[] | null {
  if (before.length * after.length > MAX_CELLS) return null;
  const a = before.map(key);
  const b = after.map(key);
  // lengths[i][j]: the LCS of a[i..] and b[j..].
  const lengths = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lengths[i]![j] = a[i] === b[j] ? lengths[i + 1]![j + 1]! + 1 : Math.max(lengths[i + 1]![j]!, lengths[i]![j + 1]!);
  const ops: Op<T>[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ kind: 'same', item: after[j++]! });
      i++;
    } else if (i < a.length && (j === b.length || lengths[i + 1]![j]! >= lengths[i]![j + 1]!))
      ops.push({ kind: 'removed', item: before[i++]! });
    else ops.push({ kind: 'added', item: after[j++]! });
  }
  return ops;
}

function withMark(node: JSONContent, mark: string): JSONContent {
  if (node.type === 'text') return { ...node, marks: [...(node.marks ?? []), { type: mark }] };
  return node.content ? { ...node, content: node.content.map((child) => withMark(child, mark)) } : node;
}

/** A text block's inline content as word and space tokens, each a text node with its marks. */
function tokens(block: JSONContent): JSONContent[] {
  return (block.content ?? []).flatMap((inline) =>
    inline.type === 'text' && inline.text ? (inline.text.match(/\s+|[^\s]+/g) ?? []).map((text) => ({ ...inline, text })) : [inline],
  );
}

const isTextBlock = (node: JSONContent): boolean =>
  (node.content ?? []).every((child) => child.type === 'text' || child.type === 'hardBreak');

/** One block changed into another of the same type: its words marked, or null to mark the blocks whole. */
function changedBlock(before: JSONContent, after: JSONContent): JSONContent | null {
  if (before.type !== after.type || !isTextBlock(before) || !isTextBlock(after)) return null;
  const ops = diff(tokens(before), tokens(after), (token) => token.text ?? JSON.stringify(token));
  if (!ops) return null;
  const content = ops.map(({ kind, item }) => (kind === 'same' ? item : withMark(item, kind === 'added' ? INSERTED : REMOVED)));
  return { ...after, content };
}

/** The version's document with what changed since `previous` marked: inserted text, and removed text struck through in place. */
export function markChanges(previous: JSONContent | null, version: JSONContent): JSONContent {
  if (!previous) return version;
  const ops = diff(previous.content ?? [], version.content ?? [], (block) => JSON.stringify(block));
  if (!ops) return version;
  const content: JSONContent[] = [];
  for (let k = 0; k < ops.length;) {
    if (ops[k]!.kind === 'same') {
      content.push(ops[k++]!.item);
      continue;
    }
    // A run of changes: removed blocks pair up with added ones in order (a block edited in place).
    const removed: JSONContent[] = [];
    const added: JSONContent[] = [];
    for (; k < ops.length && ops[k]!.kind !== 'same'; k++) (ops[k]!.kind === 'removed' ? removed : added).push(ops[k]!.item);
    for (let p = 0; p < Math.max(removed.length, added.length); p++) {
      const [before, after] = [removed[p], added[p]];
      const changed = before && after ? changedBlock(before, after) : null;
      if (changed) content.push(changed);
      else {
        if (before) content.push(withMark(before, REMOVED));
        if (after) content.push(withMark(after, INSERTED));
      }
    }
  }
  return { ...version, content };
}
