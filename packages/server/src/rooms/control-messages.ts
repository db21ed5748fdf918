import { canChat, CloseCode, errorMessage, parseClientMessage, type ClientMessage, type Member } from '@tandem/protocol';
import type { Logger } from 'pino';
import { AuthError, type Authenticator } from '../auth/authenticator.js';
import type { Connection } from './connection.js';
import type { Journal } from './journal.js';
import type { Members } from './members.js';

function assertNever(value: never): never {
  throw new Error(`unhandled message ${JSON.stringify(value)}`);
}

/**
 * The one error boundary for a frame's asynchronous work: a failure is logged with the
 * connection and costs that connection (1011), never the process or the other members.
 */
export function guardWork(log: Logger, conn: Connection, what: string, work: Promise<void>): void {
  work.catch((error: unknown) => {
    log.error({ err: error, ...conn.logFields }, `${what} failed; closing the connection`);
    conn.close(CloseCode.internalError, 'internal error');
  });
}

export interface ControlContext {
  members: Members;
  journal: Journal;
  authenticator: Authenticator;
  log: Logger;
}

/** A room's control channel (tandem.v1 text frames): validated, then routed to the people (Members) or the history (Journal). */
export class ControlMessages {
  readonly #ctx: ControlContext;

  constructor(ctx: ControlContext) {
    this.#ctx = ctx;
  }

  receive(conn: Connection, text: string): void {
    if (!conn.control) {
      conn.close(CloseCode.unsupportedData, 'text frames need the tandem.v1 subprotocol');
      return;
    }
    const parsed = parseClientMessage(text);
    if (!parsed.ok) {
      conn.sendJson(errorMessage('bad_message', parsed.error));
      return;
    }
    const message = parsed.message;
    if (message.type === 'join') {
      this.#ctx.members.join(conn, message.name);
      return;
    }
    const member = this.#ctx.members.of(conn);
    if (!member) {
      conn.sendJson(errorMessage('not_joined', `"${message.type}" needs a member: send "join" first.`));
      return;
    }
    this.#dispatch(conn, member, message);
  }

  #dispatch(conn: Connection, member: Member, message: Exclude<ClientMessage, { type: 'join' }>): void {
    const { members, journal, log } = this.#ctx;
    switch (message.type) {
      case 'rename':
        members.rename(conn, message.name);
        return;
      case 'chat':
        if (!canChat(conn.rights)) {
          conn.sendJson(errorMessage('forbidden', 'Your rights here do not include chat.', message.id));
          return;
        }
        journal.chat(conn, member, message.id, message.text);
        return;
      case 'typing':
        members.typing(conn, message.on);
        return;
      case 'event':
        journal.event(conn, member, message.name, message.data);
        return;
      case 'resume':
        guardWork(log, conn, 'resume', journal.resume(conn, message.chatSeq, message.activitySeq));
        return;
      case 'history':
        guardWork(log, conn, 'history', journal.older(conn, message.log, message.before, message.limit));
        return;
      case 'auth':
        guardWork(log, conn, 're-authentication', this.#reauthenticate(conn, message.token));
        return;
      default:
        assertNever(message);
    }
  }

  /** A fresh token for a live connection: same user, rights recomputed, expiry moved. */
  async #reauthenticate(conn: Connection, token: string): Promise<void> {
    let identity;
    try {
      identity = await this.#ctx.authenticator.verify(token);
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      conn.sendJson(errorMessage('unauthorized', error.message));
      return;
    }
    const rights = conn.session.renew(identity);
    if (rights === null) {
      conn.sendJson(errorMessage('forbidden', 'The new token is for another user or does not cover this room.'));
      return;
    }
    conn.sendJson({ type: 'authenticated', rights, expiresAt: identity.expiresAt });
  }
}
