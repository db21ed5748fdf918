import { useRef } from 'react';
import { importDocument } from '../api.js';

/** The content a file holds, by its extension or type; null for a kind the server cannot import. */
export async function importedContent(file: File): Promise<{ markdown: string } | { html: string } | { text: string } | null> {
  const extension = /\.([^.]+)$/.exec(file.name)?.[1]?.toLowerCase() ?? '';
  const text = () => file.text();
  if (['md', 'markdown'].includes(extension) || file.type === 'text/markdown') return { markdown: await text() };
  if (['html', 'htm'].includes(extension) || file.type === 'text/html') return { html: await text() };
  if (extension === 'txt' || file.type === 'text/plain') return { text: await text() };
  return null;
}

/** Imports a file as a new document, titled by the file's name; answers the new document's name. */
export async function importFile(file: File): Promise<string> {
  const content = await importedContent(file);
  if (!content) throw new Error(`"${file.name}" is not a Markdown, HTML or text file`);
  const title =
    file.name
      .replace(/\.[^.]+$/, '')
      .trim()
      .slice(0, 120) || 'Imported document';
  return (await importDocument(title, content)).name;
}

export const IMPORT_ACCEPT = '.md,.markdown,.html,.htm,.txt,text/markdown,text/html,text/plain';

/** A button that opens the file picker and imports the chosen file. */
export function ImportButton({ disabled, onFile }: { disabled: boolean; onFile: (file: File) => void }) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <button type="button" onClick={() => input.current?.click()} disabled={disabled}>
        Import a file…
      </button>
      <input
        ref={input}
        type="file"
        hidden
        aria-label="Import a Markdown, HTML or text file"
        accept={IMPORT_ACCEPT}
        onChange={(event) => {
          const file = event.target.files?.[0];
          event.target.value = '';
          if (file) onFile(file);
        }}
      />
    </>
  );
}
