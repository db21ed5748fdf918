/** An administrator's action on a room, as each node applies it to the connections it serves. */
export type RelayedAction =
  | { action: 'disconnect'; room: string; member: string }
  | { action: 'close'; room: string }
  | { action: 'read_only'; room: string; readOnly: boolean }
  | { action: 'delete'; room: string };

/** Carries admin actions to the other nodes (cluster mode). */
export interface AdminRelay {
  publish(action: RelayedAction): Promise<void>;
  /** Calls `apply` with each action another node publishes. */
  subscribe(apply: (action: RelayedAction) => void): void;
}

/** One node has no others to tell. */
export const NO_RELAY: AdminRelay = { publish: async () => {}, subscribe: () => {} };
