import { encodeAwarenessStates } from '@tandem/protocol';
import { removeAwarenessStates, type Awareness } from 'y-protocols/awareness';

/** The handle's awareness (cursors, selections) over its connection: sent as it changes, re-sent on every open, forgotten on a drop. */
export class PresenceLink {
  readonly #awareness: Awareness;
  readonly #send: (data: Uint8Array) => void;
  /** The handle's own origin: changes it applies from the server are not sent back. */
  readonly #origin: unknown;

  constructor(awareness: Awareness, send: (data: Uint8Array) => void, origin: unknown) {
    this.#awareness = awareness;
    this.#send = send;
    this.#origin = origin;
    awareness.on('update', this.#onUpdate);
  }

  /** A socket opened: this client's own state, if it has one. */
  opened(): void {
    if (this.#awareness.getLocalState() !== null) this.#send(encodeAwarenessStates(this.#awareness, [this.#awareness.clientID]));
  }

  /** The server asked for every state this client knows. */
  queried(): void {
    this.#send(encodeAwarenessStates(this.#awareness, [...this.#awareness.getStates().keys()]));
  }

  /** The socket dropped: everyone else's presence is unknown until the next sync. */
  lost(): void {
    const others = [...this.#awareness.getStates().keys()].filter((id) => id !== this.#awareness.clientID);
    removeAwarenessStates(this.#awareness, others, this.#origin);
  }

  /** Clears this client's state (sent while the socket is still open, so the others see its cursor go at once) and stops. */
  close(): void {
    this.#awareness.setLocalState(null);
    this.#awareness.off('update', this.#onUpdate);
    this.#awareness.destroy();
  }

  readonly #onUpdate = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown): void => {
    if (origin === this.#origin) return;
    this.#send(encodeAwarenessStates(this.#awareness, added.concat(updated, removed)));
  };
}
