/** Lengths the server refuses to go beyond in control messages (see docs/protocol.md). */
export const LIMITS = {
  nameLength: 64,
  chatLength: 4000,
  idLength: 64,
  eventNameLength: 64,
  tokenLength: 8192,
} as const;
