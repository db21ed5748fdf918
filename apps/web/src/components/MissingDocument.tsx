import { useEffect, useState } from 'react';
import { ApiError, createDocument, getDocument, type DocumentSummary } from '../api.js';
import { BackToDocuments } from './BackToDocuments.js';

/**
 * A link to a document that does not exist: says so and offers to create it, or, for a name no
 * document can have, says why (`problem`, the server's reason).
 */
export function MissingDocument({
  room,
  problem,
  onCreated,
}: {
  room: string;
  problem: string | null;
  onCreated: (doc: DocumentSummary) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    document.title = 'No such document · Tandem';
  }, []);

  const create = async () => {
    setBusy(true);
    try {
      const created = await createDocument({ name: room }).catch((err: unknown) => {
        // Someone else created it in the meantime: open theirs.
        if (err instanceof ApiError && err.code === 'conflict') return getDocument(room);
        throw err;
      });
      onCreated(created);
    } catch (err) {
      setError(`Could not create it: ${(err as Error).message}`);
      setBusy(false);
    }
  };

  return (
    <main className="notice">
      <div className="notice-card">
        <span className="brand">Tandem</span>
        {problem ? (
          <>
            <h1>“{room}” cannot be a document name</h1>
            <p className="muted">The server says: {problem}.</p>
          </>
        ) : (
          <>
            <h1>No document named “{room}”</h1>
            <p className="muted">It may have been deleted, or the link may be mistyped. You can create it under this name.</p>
            {error && (
              <p className="error" role="alert">
                {error}
              </p>
            )}
            <button type="button" className="primary" onClick={create} disabled={busy}>
              Create “{room}”
            </button>
          </>
        )}
        <BackToDocuments />
      </div>
    </main>
  );
}
