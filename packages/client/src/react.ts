/**
 * React bindings: thin hooks over the framework-free SDK. The handle stays the source of truth;
 * components re-render from its immutable snapshots through useSyncExternalStore.
 */
import { useEffect, useState, useSyncExternalStore } from 'react';
import { connect, type RoomHandle } from './room.js';
import type { ConnectOptions, RoomSnapshot } from './types.js';

/**
 * Connects to `room` while the component is mounted (and while `room` stays the same), and
 * returns the handle — null during the first render. Changing `name` renames the member.
 */
export function useRoom(url: string, room: string, options: ConnectOptions = {}): RoomHandle | null {
  const [handle, setHandle] = useState<RoomHandle | null>(null);
  useEffect(() => {
    const next = connect(url, room, options);
    setHandle(next);
    return () => {
      next.destroy();
      setHandle(null);
    };
    // The handle lives as long as url and room; the name is applied below without reconnecting.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [url, room]);
  useEffect(() => {
    if (handle && options.name !== undefined) handle.setName(options.name);
  }, [handle, options.name]);
  return handle;
}

const idle: RoomSnapshot = {
  status: { state: 'connecting', attempt: 0 },
  synced: false,
  me: null,
  rights: 'write',
  members: [],
  chat: [],
  pendingChat: [],
  activity: [],
  typing: [],
  storage: { state: 'ok' },
  unsaved: false,
  olderChat: false,
  olderActivity: false,
};
const noop = (): (() => void) => () => {};

/** The handle's current state; re-renders the component whenever it changes. */
export function useRoomSnapshot(handle: RoomHandle | null): RoomSnapshot {
  return useSyncExternalStore(handle?.subscribe ?? noop, handle?.getSnapshot ?? (() => idle));
}
