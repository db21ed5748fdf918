import type { Member } from '@tandem/protocol';

/** Who is in the room, as the server last said, and which of them is this handle. */
export class Roster {
  #members = new Map<string, Member>();
  #me: Member | null = null;

  get me(): Member | null {
    return this.#me;
  }

  get members(): Member[] {
    return [...this.#members.values()];
  }

  /** The welcome's whole list. */
  welcomed(you: Member, members: readonly Member[]): void {
    this.#me = you;
    this.#members = new Map(members.map((m) => [m.id, m]));
  }

  /** A `members` change: new or renamed members, and the ids of those who left (this handle's own entry follows a rename). */
  changed(changed: readonly Member[], left: readonly string[]): void {
    for (const member of changed) this.#members.set(member.id, member);
    for (const id of left) this.#members.delete(id);
    if (this.#me) this.#me = this.#members.get(this.#me.id) ?? this.#me;
  }

  /** The connection was lost: nobody's presence is known until the next welcome. */
  clear(): void {
    this.#members.clear();
  }
}
