import type { JSONContent } from '@tiptap/core';
import { describe, expect, it } from 'vitest';
import { INSERTED, markChanges, REMOVED } from '../src/version-diff.js';

const paragraph = (text: string): JSONContent => ({ type: 'paragraph', content: [{ type: 'text', text }] });
const doc = (...blocks: JSONContent[]): JSONContent => ({ type: 'doc', content: blocks });
/** Each block's text, with inserted words as [+…] and removed ones as [-…]. */
const shown = (content: JSONContent): string[] =>
  (content.content ?? []).map((block) =>
    (block.content ?? [])
      .map((node) => {
        const marks = (node.marks ?? []).map((mark) => mark.type);
        return marks.includes(INSERTED) ? `[+${node.text}]` : marks.includes(REMOVED) ? `[-${node.text}]` : (node.text ?? '');
      })
      .join(''),
  );

describe('changes between versions', () => {
  it('marks nothing without a previous version', () => {
    expect(shown(markChanges(null, doc(paragraph('a'))))).toEqual(['a']);
  });

  it('marks inserted and removed words inside an edited block, and whole added and removed blocks', () => {
    const before = doc(paragraph('keep this'), paragraph('the old plan'), paragraph('gone'));
    const after = doc(paragraph('keep this'), paragraph('the new plan'), paragraph('added'));
    expect(shown(markChanges(before, after))).toEqual(['keep this', 'the [-old][+new] plan', '[-gone][+added]']);
  });

  it('keeps other marks on changed text', () => {
    const bold = { type: 'paragraph', content: [{ type: 'text', text: 'bold', marks: [{ type: 'bold' }] }] };
    const marked = markChanges(doc(), doc(bold));
    expect(marked.content?.[0]?.content?.[0]?.marks).toEqual([{ type: 'bold' }, { type: INSERTED }]);
  });
});
