import { useEffect } from 'react';
import { BackToDocuments } from './BackToDocuments.js';

/** A path the app has no page for (the server answers it with status 404). */
export function NotFoundPage({ path }: { path: string }) {
  useEffect(() => {
    document.title = 'Page not found · Tandem';
  }, []);
  return (
    <main className="notice">
      <div className="notice-card">
        <span className="brand">Tandem</span>
        <h1>Page not found</h1>
        <p className="muted">
          There is no page at <code>{path}</code>.
        </p>
        <BackToDocuments />
      </div>
    </main>
  );
}
