/** The longest room (document) name, in UTF-16 code units. */
export const MAX_ROOM_NAME = 128;

/**
 * Why `name` cannot name a room (a document), or null when it can. The WebSocket gateway and the
 * document API apply the same rule: control characters would end up in logs and storage keys,
 * slashes in URLs built from names.
 */
export function roomNameProblem(name: string): string | null {
  if (name.length === 0 || name.length > MAX_ROOM_NAME) return `a document name has 1 to ${MAX_ROOM_NAME} characters`;
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'a document name may not contain control characters';
  if (name.includes('/')) return 'a document name may not contain "/"';
  return null;
}
