import { useEffect, useState } from 'react';
import { ApiError, getDocument } from '../api.js';
import type { DocumentPage } from './DocumentPage.js';
import { Loading } from './Loading.js';
import { MissingDocument } from './MissingDocument.js';

// The editor is most of the app's code: it loads only for a document. The page is rendered once
// its code is here rather than through lazy() and Suspense, whose reveal React holds back (300 ms).
const loadDocumentPage = (): Promise<typeof DocumentPage> => import('./DocumentPage.js').then((module) => module.DocumentPage);

type Lookup =
  | { state: 'looking' }
  | { state: 'found'; title: string; Page: typeof DocumentPage }
  | { state: 'missing'; problem: string | null }
  | { state: 'failed'; message: string };

/** Shows the document, titled `title`, once the editor's code is here. */
function openDocument(title: string, show: (lookup: Lookup) => void): Promise<void> {
  return loadDocumentPage().then(
    (Page) => show({ state: 'found', title, Page }),
    (error: Error) => show({ state: 'failed', message: error.message }),
  );
}

/** /d/<room>: the document, once the server says it exists; else the page that offers to create it. */
export function DocumentRoute({ room, name, onRename }: { room: string; name: string; onRename: (name: string) => void }) {
  const [lookup, setLookup] = useState<Lookup>({ state: 'looking' });

  useEffect(() => {
    let current = true;
    const show = (next: Lookup) => current && setLookup(next);
    // The editor's code downloads while the document is looked up.
    loadDocumentPage().catch(() => {}); // reported by openDocument()
    getDocument(room).then(
      (doc) => openDocument(doc.title, show),
      (error: unknown) => {
        const { code, message } = error instanceof ApiError ? error : new ApiError(0, String(error));
        if (code === 'not_found') show({ state: 'missing', problem: null });
        else if (code === 'invalid_name') show({ state: 'missing', problem: message });
        // Anything else (the server unreachable, storage failing) is for the room's connection to show.
        else void openDocument(room, show);
      },
    );
    return () => {
      current = false;
    };
  }, [room]);

  switch (lookup.state) {
    case 'looking':
      return <Loading />;
    case 'missing':
      return <MissingDocument room={room} problem={lookup.problem} onCreated={(doc) => void openDocument(doc.title, setLookup)} />;
    case 'failed':
      return (
        <p className="loading error" role="alert">
          Could not load the editor ({lookup.message}). Reload the page to try again.
        </p>
      );
    case 'found':
      return <lookup.Page room={room} title={lookup.title} name={name} onRename={onRename} />;
  }
}
