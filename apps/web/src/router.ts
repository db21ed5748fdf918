import { useSyncExternalStore } from 'react';

/** Client-side navigation without a router library: the app has three routes (/, /d/<room>, /admin), see routeOf. */
export function navigate(path: string): void {
  if (path === location.pathname) return;
  history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

function subscribe(onChange: () => void): () => void {
  addEventListener('popstate', onChange);
  return () => removeEventListener('popstate', onChange);
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => location.pathname);
}

export type Route = { page: 'documents' } | { page: 'document'; room: string } | { page: 'admin' } | { page: 'not-found' };

/** What a path shows. The server answers paths that are no route here with status 404 (http/web-app.ts). */
export function routeOf(path: string): Route {
  if (path === '/') return { page: 'documents' };
  if (/^\/admin\/?$/.test(path)) return { page: 'admin' };
  const room = /^\/d\/([^/]+)\/?$/.exec(path)?.[1];
  if (room) {
    try {
      return { page: 'document', room: decodeURIComponent(room) };
    } catch {
      // not decodable: no document has that name
    }
  }
  return { page: 'not-found' };
}

export const documentPath = (room: string): string => `/d/${encodeURIComponent(room)}`;
