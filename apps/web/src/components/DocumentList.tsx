import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { colorForName } from '@tandem/protocol';
import { createDocument, listDocuments, type DocumentSummary } from '../api.js';
import { formatAgo } from '../time.js';
import { documentPath, navigate } from '../router.js';
import { Avatar } from './Avatar.js';
import { ImportButton, importFile } from './ImportDocument.js';

const REFRESH_MS = 10_000;

export function DocumentList({ name, onSignOut }: { name: string; onSignOut: () => void }) {
  const [documents, setDocuments] = useState<DocumentSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [title, setTitle] = useState('');
  const [busy, setBusy] = useState(false);
  const [dragging, setDragging] = useState(false);

  const refresh = useCallback(() => {
    listDocuments().then(
      (docs) => {
        setDocuments(docs);
        setError(null);
      },
      (err: Error) => setError(`Could not load the documents: ${err.message}`),
    );
  }, []);

  useEffect(() => {
    document.title = 'Documents · Tandem';
    refresh();
    const timer = setInterval(refresh, REFRESH_MS);
    return () => clearInterval(timer);
  }, [refresh]);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    if (!title.trim()) return;
    setBusy(true);
    try {
      const doc = await createDocument({ title: title.trim() });
      navigate(documentPath(doc.name));
    } catch (err) {
      setError(`Could not create the document: ${(err as Error).message}`);
      setBusy(false);
    }
  };

  const importAndOpen = async (file: File) => {
    setBusy(true);
    try {
      navigate(documentPath(await importFile(file)));
    } catch (err) {
      setError(`Could not import the file: ${(err as Error).message}`);
      setBusy(false);
    }
  };

  return (
    <div className="list-page">
      <header className="topbar">
        <span className="brand">Tandem</span>
        <div className="topbar-right">
          <Avatar member={{ name, color: colorForName(name) }} you />
          <button type="button" className="ghost" onClick={onSignOut}>
            Change name
          </button>
        </div>
      </header>
      <main
        className={dragging ? 'list-main dropping' : 'list-main'}
        onDragOver={(event) => {
          if (!event.dataTransfer.types.includes('Files')) return;
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={(event) => {
          if (!event.currentTarget.contains(event.relatedTarget as Node | null)) setDragging(false);
        }}
        onDrop={(event) => {
          event.preventDefault();
          setDragging(false);
          const file = event.dataTransfer.files[0];
          if (file && !busy) void importAndOpen(file);
        }}
      >
        <div className="list-head">
          <h1>Documents</h1>
          <button type="button" className="primary" onClick={() => setCreating(!creating)} aria-expanded={creating}>
            New document
          </button>
        </div>
        <p className="muted import-hint">
          <ImportButton disabled={busy} onFile={(file) => void importAndOpen(file)} />
          <span>Markdown, HTML or plain text becomes a new document. You can also drop a file here.</span>
        </p>
        {creating && (
          <form className="create-form" onSubmit={create}>
            <label className="field">
              <span>Title</span>
              <input value={title} autoFocus maxLength={120} onChange={(e) => setTitle(e.target.value)} placeholder="e.g. Team notes" />
            </label>
            <button type="submit" className="primary" disabled={!title.trim() || busy}>
              Create
            </button>
          </form>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        {documents === null ? (
          !error && <p className="muted">Loading…</p>
        ) : documents.length === 0 ? (
          <p className="muted empty">No documents yet. Create the first one.</p>
        ) : (
          <ul className="doc-list">
            {documents.map((doc) => (
              <li key={doc.name}>
                <a
                  href={documentPath(doc.name)}
                  onClick={(event) => {
                    event.preventDefault();
                    navigate(documentPath(doc.name));
                  }}
                >
                  <span className="doc-name">{doc.title}</span>
                  <span className="muted">
                    {doc.updatedAt > 0 ? `edited ${formatAgo(doc.updatedAt)}` : 'not edited yet'}
                    {doc.online > 0 && <span className="online"> · {doc.online} here now</span>}
                  </span>
                </a>
              </li>
            ))}
          </ul>
        )}
      </main>
    </div>
  );
}
