import type { ChatMessage, Member } from '@tandem/protocol';
import type { Logger } from 'pino';
import type * as Y from 'yjs';

/**
 * An app's logic around rooms. Each hook is called on the node that served the change, once: a
 * member's join and leave where the member is connected, a chat message where it was sent, a
 * document change with the update this node's clients made (merged per fan-out interval, so a
 * burst of typing is one call). A hook that throws or rejects is logged; the room goes on.
 */
export interface RoomHooks {
  onChange?(event: { room: string; update: Uint8Array; doc: Y.Doc }): unknown;
  onJoin?(event: { room: string; member: Member }): unknown;
  onLeave?(event: { room: string; member: Member }): unknown;
  /** After the message is stored, with its seq. */
  onChat?(event: { room: string; message: ChatMessage }): unknown;
}

/** Calls a hook, if the app set it, so that its failure costs a log line and nothing else. */
export function callHook<K extends keyof RoomHooks>(
  hooks: RoomHooks,
  name: K,
  event: Parameters<NonNullable<RoomHooks[K]>>[0],
  log: Logger,
): void {
  const hook = hooks[name] as ((event: unknown) => unknown) | undefined;
  if (!hook) return;
  const failed = (error: unknown): void => log.error({ err: error, room: event.room, hook: name }, `the app's ${name} hook failed`);
  try {
    const result = hook(event);
    if (result instanceof Promise) result.catch(failed);
  } catch (error) {
    failed(error);
  }
}
