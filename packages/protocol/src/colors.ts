/** A stable color per display name, so a person keeps their color across sessions. */
export const MEMBER_COLORS = [
  '#e11d48',
  '#db2777',
  '#c026d3',
  '#7c3aed',
  '#4f46e5',
  '#2563eb',
  '#0284c7',
  '#0891b2',
  '#0d9488',
  '#059669',
  '#16a34a',
  '#65a30d',
  '#ca8a04',
  '#d97706',
  '#ea580c',
  '#dc2626',
] as const;

export function colorForName(displayName: string): string {
  let hash = 2166136261;
  for (let i = 0; i < displayName.length; i++) {
    hash = Math.imul(hash ^ displayName.charCodeAt(i), 16777619);
  }
  return MEMBER_COLORS[(hash >>> 0) % MEMBER_COLORS.length] as string;
}
