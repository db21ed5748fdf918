/**
 * `ws(s)://host/ws/<room>` from the server's base URL, given as ws(s):// or http(s)://, with or
 * without the `/ws` endpoint path (so `ws://host:8000` and `ws://host:8000/ws` both work).
 */
export function roomUrl(base: string, room: string): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new Error(`"${base}" is not a URL: pass the server's address, for example ws://localhost:8000`);
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new Error(`"${base}" is not a ws:, wss:, http: or https: URL: pass the server's address, for example ws://localhost:8000`);
  }
  const path = url.pathname.replace(/\/+$/, '');
  if (/\/ws\/./.test(`${path}/`) && !path.endsWith('/ws')) {
    throw new Error(`"${base}" already names a room: pass the server's address (for example ${url.origin}) and the room separately`);
  }
  url.pathname = `${path.replace(/\/ws$/, '')}/ws/${encodeURIComponent(room)}`;
  return url.toString();
}
