import type { Locator } from 'playwright-core';
import type { User } from './helpers.js';
import { WAIT_MS } from './waits.js';

// ---------------------------------------------------------------------------------------------
// Reading the page

/**
 * What a screen reader would get from `locator`: Playwright's accessibility snapshot (text and
 * accessible names such as aria-label) plus the title attributes of visible elements inside it.
 */
export async function accessibleText(locator: Locator): Promise<string> {
  const snapshot = await locator.ariaSnapshot({ timeout: WAIT_MS });
  const titles = await locator.evaluate((root) =>
    [root, ...Array.from(root.querySelectorAll('[title]'))]
      .filter((el) => el.hasAttribute('title') && el.checkVisibility())
      .map((el) => el.getAttribute('title'))
      .join('\n'),
  );
  return `${snapshot}\n${titles}`;
}

export function wordPattern(word: string): RegExp {
  return new RegExp(`(^|[^\\p{L}\\p{N}])${escapeRegExp(word)}($|[^\\p{L}\\p{N}])`, 'u');
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The editor's text: one line per top-level block, without the remote carets that
 * CollaborationCaret draws inside the editor (their labels hold names, not document text).
 * Read from clones, so the live ProseMirror DOM is never touched.
 */
export async function editorText(u: User): Promise<string> {
  const blocks = await u.editor().evaluate((root) =>
    Array.from(root.children).map((block) => {
      const copy = block.cloneNode(true) as Element;
      copy.querySelectorAll('.collaboration-carets__caret').forEach((caret) => caret.remove());
      return copy.textContent ?? '';
    }),
  );
  return blocks
    .map((line) => line.replace(/\u00a0/g, ' ').trimEnd())
    .join('\n')
    .trim();
}

/** The text of every element `locator` matches, without remote carets (see editorText). */
export async function textsWithoutCarets(locator: Locator): Promise<string[]> {
  return locator.evaluateAll((elements) =>
    elements.map((element) => {
      const copy = element.cloneNode(true) as Element;
      copy.querySelectorAll('.collaboration-carets__caret').forEach((caret) => caret.remove());
      return copy.textContent ?? '';
    }),
  );
}

/**
 * The author shown for a chat message: starting at the element holding the (last) occurrence of
 * `text` inside the chat region, the nearest enclosing element whose visible text names one of
 * `names`. Returns the names found there — exactly the author for a well-formed message item.
 * Message texts must not contain any of the names.
 */
export async function chatAuthors(chat: Locator, text: string, names: string[]): Promise<string[]> {
  await chat.getByText(text).last().waitFor({ timeout: WAIT_MS });
  return chat.evaluate(
    (root, { text, names }) => {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      let holder: HTMLElement | null = null;
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (node.textContent?.includes(text)) holder = node.parentElement;
      }
      const mentions = (s: string): string[] => names.filter((n) => new RegExp(`(^|[^\\p{L}\\p{N}])${n}($|[^\\p{L}\\p{N}])`, 'u').test(s));
      for (let el = holder; el && el !== root; el = el.parentElement) {
        const found = mentions(el.innerText);
        if (found.length > 0) return found;
      }
      return [];
    },
    { text, names },
  );
}
