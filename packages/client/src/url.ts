/** `ws(s)://host/ws/<room>` from a base URL given as ws(s):// or http(s)://. */
export function roomUrl(base: string, room: string): string {
  const url = new URL(base);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  url.pathname = `${url.pathname.replace(/\/$/, '')}/ws/${encodeURIComponent(room)}`;
  return url.toString();
}
