import { useRef } from 'react';
import { exportUrl, type ExportFormat } from '../api.js';

const FORMATS: Array<{ format: ExportFormat; label: string }> = [
  { format: 'markdown', label: 'Markdown (.md)' },
  { format: 'html', label: 'HTML (.html)' },
  { format: 'text', label: 'Plain text (.txt)' },
  { format: 'json', label: 'ProseMirror JSON (.json)' },
  { format: 'yjs', label: 'Yjs update (.yjs)' },
];

/**
 * The document's downloads, each a link to the export route (which names the file after the
 * title). A disclosure (details/summary) rather than an ARIA menu: it is keyboard- and
 * screen-reader-friendly as it is.
 */
export function DownloadMenu({ room }: { room: string }) {
  const details = useRef<HTMLDetailsElement>(null);
  const close = () => details.current?.removeAttribute('open');
  return (
    <details className="download-menu" ref={details} onKeyDown={(event) => event.key === 'Escape' && close()}>
      <summary className="ghost">Download</summary>
      <ul aria-label="Download as">
        {FORMATS.map(({ format, label }) => (
          <li key={format}>
            <a href={exportUrl(room, format)} download onClick={close}>
              {label}
            </a>
          </li>
        ))}
      </ul>
    </details>
  );
}
