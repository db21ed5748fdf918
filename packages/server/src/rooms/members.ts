import {
  colorForName,
  errorMessage,
  MEMBER_COLORS,
  WELCOME_HISTORY,
  type ActivityEntry,
  type Member,
  type ServerMessage,
} from '@tandem/protocol';
import type { PresenceChannel, RemotePresence } from '../cluster/bus.js';
import type { StorageHealth } from '../storage/health.js';
import type { ActivityLimiter } from './activity-limiter.js';
import type { Connection } from './connection.js';
import type { Journal } from './journal.js';
import type { RoomLog } from '../storage/room-log.js';
import { PresenceBatch, presenceIntervalMs } from './presence.js';

interface MemberState {
  member: Member;
  typing: boolean;
  /** Sent its `welcome`: from then on it gets the room's broadcasts. */
  welcomed: boolean;
  /** False when its join was not recorded (the address was over its rate): nor is its leave. */
  joinRecorded: boolean;
}

interface HeldLeave {
  member: Member;
  timer: NodeJS.Timeout;
}

export interface MembersContext {
  journal: Journal;
  persistence: RoomLog;
  activityLimiter: ActivityLimiter;
  /** A leave is recorded this long after it happens, unless the same person comes back first. */
  leaveGraceMs: number;
  /** True while the server shuts down: departures then are not recorded as "left". */
  isShuttingDown(): boolean;
  /** A joiner was welcomed: the frames it sent meanwhile may be handled now. */
  onWelcomed(conn: Connection): void;
  /** A member joined (was welcomed), or a welcomed member's connection closed (not at shutdown). */
  onJoined(member: Member): void;
  onLeft(member: Member): void;
}

/** Who a member is across connections: the token's user, or a guest's name. */
function personKey(conn: Connection, name: string): string {
  return conn.identity.userId === null ? `guest:${name}` : `user:${conn.identity.userId}`;
}

function storageMessage(health: StorageHealth): ServerMessage {
  return health.ok
    ? { type: 'storage', state: 'ok', message: 'Changes are being stored again.' }
    : {
        type: 'storage',
        state: 'failing',
        message: `The server cannot store changes (${health.error}); they are kept in memory and not acknowledged until it can.`,
      };
}

/**
 * The people in a room: joins and welcomes, renames, typing, departures, the activity entries
 * that record them, and every broadcast to joined members. Presence changes go out batched
 * (see PresenceBatch).
 */
export class Members {
  readonly #connections: ReadonlySet<Connection>;
  readonly #ctx: MembersContext;
  readonly #states = new Map<Connection, MemberState>();
  readonly #presence: PresenceBatch;
  /** Joiners whose welcome waits for their "joined" entry to be committed, by member id. */
  readonly #awaitingWelcome = new Map<string, Connection>();
  /** Leaves waiting out the grace period, by person: a quick return records neither. */
  readonly #heldLeaves = new Map<string, HeldLeave>();
  /** Members on other nodes, by node, and the channel to those nodes (cluster mode). */
  readonly #remote = new Map<string, Member[]>();
  #shared: PresenceChannel | null = null;
  /** The color each person was given here, by person: who comes back keeps it. */
  readonly #colors = new Map<string, string>();

  constructor(connections: ReadonlySet<Connection>, ctx: MembersContext) {
    this.#connections = connections;
    this.#ctx = ctx;
    this.#presence = new PresenceBatch(
      () => presenceIntervalMs(connections.size),
      (message) => this.broadcast(message),
    );
  }

  /** The member a connection joined as, or null. */
  of(conn: Connection): Member | null {
    return this.#states.get(conn)?.member ?? null;
  }

  get count(): number {
    return this.#states.size;
  }

  join(conn: Connection, name: string): void {
    if (this.#states.has(conn)) {
      conn.sendJson(errorMessage('already_joined', 'This connection has joined already; send "rename" to change the name.'));
      return;
    }
    const displayName = conn.identity.name ?? name;
    const member: Member = { id: conn.id, name: displayName, color: this.#colorFor(personKey(conn, displayName), displayName) };
    const state: MemberState = { member, typing: false, welcomed: false, joinRecorded: true };
    this.#states.set(conn, state);
    const recorded = this.#recordJoin(conn, state);
    // The welcome holds only committed history, the joiner's own "joined" entry included: it
    // waits for that entry's commit, unless storage is failing. Frames the client sends
    // meanwhile are held, as while the room loads, so they are handled as after the welcome.
    if (recorded && this.#ctx.persistence.health.ok) {
      this.#awaitingWelcome.set(member.id, conn);
      conn.hold();
    } else {
      this.#welcome(conn, state);
    }
  }

  /**
   * A person's color in this room: the one they had here before, or else one of the palette's
   * least used by the members present, the name's own color when that is one of them (so a person
   * keeps their color across rooms and sessions where they can).
   */
  #colorFor(person: string, name: string): string {
    const kept = this.#colors.get(person);
    if (kept) return kept;
    const uses = new Map<string, number>(MEMBER_COLORS.map((color) => [color, 0]));
    for (const member of this.#members()) uses.set(member.color, (uses.get(member.color) ?? 0) + 1);
    for (const state of this.#states.values()) if (!state.welcomed) uses.set(state.member.color, (uses.get(state.member.color) ?? 0) + 1);
    const fewest = Math.min(...uses.values());
    const own = colorForName(name);
    const start = MEMBER_COLORS.indexOf(own as (typeof MEMBER_COLORS)[number]);
    let color = own;
    for (let i = 0; i < MEMBER_COLORS.length; i++) {
      const candidate = MEMBER_COLORS[(start + i) % MEMBER_COLORS.length]!;
      if (uses.get(candidate) === fewest) {
        color = candidate;
        break;
      }
    }
    this.#colors.set(person, color);
    return color;
  }

  #welcome(conn: Connection, state: MemberState): void {
    state.welcomed = true;
    const history = this.#ctx.journal.history(WELCOME_HISTORY);
    conn.sendJson({ type: 'welcome', you: state.member, members: this.#members(), ...history, rights: conn.rights });
    const health = this.#ctx.persistence.health;
    if (!health.ok) conn.sendJson(storageMessage(health));
    this.#presence.changed(state.member);
    this.#share();
    this.#ctx.onWelcomed(conn);
    this.#ctx.onJoined(state.member);
  }

  /** Everyone in the room: here, and on the other nodes. */
  list(): Member[] {
    return this.#members();
  }

  #members(): Member[] {
    const members = this.#local();
    for (const remote of this.#remote.values()) for (const member of remote) members.push(member);
    return members;
  }

  #local(): Member[] {
    const members: Member[] = [];
    for (const state of this.#states.values()) if (state.welcomed) members.push(state.member);
    return members;
  }

  /** From now on the other nodes hear of this node's members (cluster mode). */
  connectPresence(channel: PresenceChannel | null): void {
    this.#shared = channel;
  }

  /** Tells the other nodes who is here now. */
  #share(): void {
    this.#shared?.update(this.#local());
  }

  /** What another node says about its members: the differences go to this node's members. */
  remote(change: RemotePresence): void {
    if (change.kind === 'typing') {
      this.broadcast({ type: 'typing', member: change.member, on: change.on });
      return;
    }
    const before = new Map((this.#remote.get(change.node) ?? []).map((member) => [member.id, member]));
    const after = change.kind === 'members' ? change.members : [];
    for (const member of after) {
      const was = before.get(member.id);
      before.delete(member.id);
      if (!was || was.name !== member.name || was.color !== member.color) this.#presence.changed(member);
    }
    for (const id of before.keys()) this.#presence.left(id);
    if (after.length > 0) this.#remote.set(change.node, after);
    else this.#remote.delete(change.node);
    // A dead node's members: one node records their departures (see Presence).
    if (change.kind === 'gone' && change.record) for (const member of change.members) this.#ctx.journal.record('leave', member);
  }

  rename(conn: Connection, name: string): void {
    const state = this.#states.get(conn);
    if (!state || state.member.name === name) return;
    const previousName = state.member.name;
    // The color stays: it is how the others recognise the person.
    state.member = { ...state.member, name };
    this.#presence.changed(state.member);
    this.#share();
    if (this.#ctx.activityLimiter.allow(conn.address)) this.#ctx.journal.record('rename', state.member, previousName);
  }

  typing(conn: Connection, on: boolean): void {
    const state = this.#states.get(conn);
    if (!state) return;
    state.typing = on;
    this.broadcast({ type: 'typing', member: state.member, on }, conn.id);
    this.#shared?.typing(state.member, on);
  }

  /** A connection closed: its member leaves (recorded after the grace period). */
  leave(conn: Connection): void {
    const state = this.#states.get(conn);
    if (!state) return;
    this.#states.delete(conn);
    if (!state.welcomed) this.#awaitingWelcome.delete(state.member.id);
    if (this.#ctx.isShuttingDown()) return;
    if (state.typing) this.broadcast({ type: 'typing', member: state.member, on: false });
    this.#presence.left(state.member.id);
    this.#share();
    this.#recordLeave(conn, state);
    if (state.welcomed) this.#ctx.onLeft(state.member);
  }

  /** Whether the member is connected to this node. */
  isLocal(memberId: string): boolean {
    for (const state of this.#states.values()) if (state.member.id === memberId) return true;
    return false;
  }

  /** An activity entry was committed: members hear of it, and a joiner waiting for it is welcomed. */
  activityCommitted(entry: ActivityEntry): void {
    this.#presence.activity(entry);
    const joiner = entry.kind === 'join' ? this.#awaitingWelcome.get(entry.member.id) : undefined;
    if (!joiner) return;
    this.#awaitingWelcome.delete(entry.member.id);
    const state = this.#states.get(joiner);
    if (state && !joiner.closed) this.#welcome(joiner, state);
  }

  /** Tells every control connection that storage failed or works again. */
  storageChanged(health: StorageHealth): void {
    const utf8 = Buffer.from(JSON.stringify(storageMessage(health)));
    for (const conn of this.#connections) conn.sendEncodedJson(utf8);
    if (health.ok) return;
    // Joiners are not kept waiting on a commit that may not come soon (the welcome tells them storage fails).
    const waiting = [...this.#awaitingWelcome.values()];
    this.#awaitingWelcome.clear();
    for (const conn of waiting) {
      const state = this.#states.get(conn);
      if (state && !conn.closed) this.#welcome(conn, state);
    }
  }

  /** Sends one control message, encoded once, to every welcomed member except the one with id `exceptId`. */
  broadcast(message: ServerMessage, exceptId: string | null = null): void {
    const utf8 = Buffer.from(JSON.stringify(message));
    for (const [conn, state] of this.#states) {
      if (state.welcomed && conn.id !== exceptId) conn.sendEncodedJson(utf8);
    }
  }

  /** Before the room's final flush: sends what is batched and records the leaves still in their grace period. */
  settle(): void {
    for (const [key, held] of this.#heldLeaves) this.#releaseLeave(key, held);
    this.#presence.flush();
  }

  dispose(): void {
    for (const held of this.#heldLeaves.values()) clearTimeout(held.timer);
    this.#heldLeaves.clear();
    this.#presence.dispose();
  }

  /**
   * Records "joined", unless the same person left moments ago (then neither is recorded) or the
   * address is over its rate. Returns whether it was recorded.
   */
  #recordJoin(conn: Connection, state: MemberState): boolean {
    const key = personKey(conn, state.member.name);
    const held = this.#heldLeaves.get(key);
    if (held) {
      clearTimeout(held.timer);
      this.#heldLeaves.delete(key);
      return false;
    }
    state.joinRecorded = this.#ctx.activityLimiter.allow(conn.address);
    if (state.joinRecorded) this.#ctx.journal.record('join', state.member);
    return state.joinRecorded;
  }

  /** Records "left" once the grace period passes without the person coming back. */
  #recordLeave(conn: Connection, state: MemberState): void {
    // Over its rate the join was not recorded, and a leave without its join would be noise.
    if (!state.joinRecorded) return;
    if (this.#ctx.leaveGraceMs === 0) {
      this.#ctx.journal.record('leave', state.member);
      return;
    }
    const key = personKey(conn, state.member.name);
    const earlier = this.#heldLeaves.get(key);
    if (earlier) this.#releaseLeave(key, earlier);
    const held: HeldLeave = { member: state.member, timer: setTimeout(() => this.#releaseLeave(key, held), this.#ctx.leaveGraceMs) };
    this.#heldLeaves.set(key, held);
  }

  #releaseLeave(key: string, held: HeldLeave): void {
    clearTimeout(held.timer);
    this.#heldLeaves.delete(key);
    this.#ctx.journal.record('leave', held.member);
  }
}
