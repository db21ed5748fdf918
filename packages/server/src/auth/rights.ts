import type { Rights } from '@tandem/protocol';

type Right = Rights;

/** Room-name patterns (`*` matches any run of characters) and the right each grants. */
export type Grants = ReadonlyArray<{ pattern: string; right: Right }>;

export const GUEST_GRANTS: Grants = [{ pattern: '*', right: 'write' }];

export function grantsFromClaim(rooms: Record<string, Right>): Grants {
  return Object.entries(rooms).map(([pattern, right]) => ({ pattern, right }));
}

function matches(pattern: string, room: string): boolean {
  const parts = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`, 's').test(room);
}

/**
 * The right for `room`: the grant with the most specific matching pattern wins (the one with the
 * most literal characters), so `handbook: read` overrides `*: write` for the handbook.
 */
export function rightFor(grants: Grants, room: string): Right | null {
  let best: { right: Right; specificity: number } | null = null;
  for (const { pattern, right } of grants) {
    if (!matches(pattern, room)) continue;
    const specificity = pattern.replaceAll('*', '').length;
    if (!best || specificity > best.specificity) best = { right, specificity };
  }
  return best?.right ?? null;
}
