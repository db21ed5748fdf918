import { useSyncExternalStore } from 'react';

/** Client-side navigation without a router library: the app has three routes (/, /d/<room>, /admin). */
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

/** The room of a `/d/<room>` path, or null. */
export function roomFromPath(path: string): string | null {
  const match = /^\/d\/([^/]+)\/?$/.exec(path);
  if (!match?.[1]) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}

export const documentPath = (room: string): string => `/d/${encodeURIComponent(room)}`;

export const isAdminPath = (path: string): boolean => /^\/admin\/?$/.test(path);
