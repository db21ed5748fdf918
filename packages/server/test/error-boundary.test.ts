import { CloseCode, SUBPROTOCOL } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import type { Authenticator } from '../src/index.js';
import { GUEST_GRANTS } from '../src/auth/rights.js';
import { closeEvent, controlMessages, member, rawSocket, startServer, until } from './helpers.js';

describe('the error boundary of asynchronous frame handling', () => {
  it('closes only the connection whose re-authentication throws unexpectedly, and keeps serving the others', async () => {
    // Accepts every handshake; a re-authentication hits a bug (a TypeError, not an AuthError).
    const buggy: Authenticator = {
      async verify(token) {
        if (token === 'boom') throw new TypeError('a bug in the authenticator');
        return { userId: null, name: null, grants: GUEST_GRANTS, expiresAt: null };
      },
    };
    const server = await startServer({}, { authenticator: buggy });
    const bystander = await member(server.wsUrl, 'room', 'Bystander');
    const ws = await rawSocket(server.wsUrl, 'room', SUBPROTOCOL);
    const received = controlMessages(ws);
    ws.send(JSON.stringify({ type: 'join', name: 'Victim' }));
    await until(() => received.some((m) => m.type === 'welcome'), 'the victim welcomed');
    const closed = closeEvent(ws);
    ws.send(JSON.stringify({ type: 'auth', token: 'boom' }));
    expect(await closed).toEqual({ code: CloseCode.internalError, reason: 'internal error' });

    // The process and the room go on.
    bystander.sendChat('still here');
    await until(() => bystander.chat.some((m) => m.text === 'still here'), "the bystander's chat acknowledged", 5_000, bystander);
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
  });
});
