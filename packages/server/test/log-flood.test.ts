import { Writable } from 'node:stream';
import { SUBPROTOCOL } from '@tandem/protocol';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LogLimiter } from '../src/lib/log-limiter.js';
import { closeEvent, rawSocket, refusal, spawnServer, startServer, tempDir, until } from './helpers.js';

/** A pino logger whose lines (parsed) land in an array. */
function capturedLogger(): { log: pino.Logger; lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

describe('logs that cannot be flooded', () => {
  it('writes a bounded number of lines for a flood of malformed frames and refused upgrades, with a count', async () => {
    const { log, lines } = capturedLogger();
    const server = await startServer({ logLevel: 'info', handshakesPerSecondPerIp: 100_000 }, { logger: log });
    for (let i = 0; i < 300; i++) {
      const ws = await rawSocket(server.wsUrl, 'flood', SUBPROTOCOL);
      const closed = closeEvent(ws);
      ws.send(new Uint8Array([0, 9, 9, 9]));
      await closed;
    }
    for (let i = 0; i < 100; i++) await refusal(`${server.wsUrl}/not-a-room-path`);
    const malformed = lines.filter((line) => line.msg?.startsWith('malformed binary frame'));
    const refused = lines.filter((line) => line.msg?.startsWith('WebSocket upgrade refused'));
    expect(malformed).toHaveLength(1);
    expect(refused).toHaveLength(1);
    // Every line about a connection says which connection, from where, in which room.
    expect(malformed[0]).toMatchObject({ address: '127.0.0.1', room: 'flood', conn: expect.any(String) });
    await server.close();
    // The interval's end (here: the shutdown) writes one line with how many more there were.
    const summaries = lines.filter((line) => line.repeated !== undefined);
    expect(summaries.find((line) => line.msg.startsWith('malformed binary frame'))?.repeated).toBe(299);
    expect(summaries.find((line) => line.msg.startsWith('WebSocket upgrade refused'))?.repeated).toBe(99);
  }, 60_000);

  it('logs a refusal with the address a trusted proxy names, not the proxy', async () => {
    const { log, lines } = capturedLogger();
    const server = await startServer({ logLevel: 'info', trustProxy: '127.0.0.1' }, { logger: log });
    await refusal(`${server.wsUrl}/not-a-room-path`, undefined, { headers: { 'x-forwarded-for': '203.0.113.7' } });
    expect(lines.find((line) => line.msg?.startsWith('WebSocket upgrade refused'))).toMatchObject({ address: '203.0.113.7', status: 404 });
  });

  it('summarises each kind once per interval and counts what it could not remember', async () => {
    const { log, lines } = capturedLogger();
    const limiter = new LogLimiter(log, 50);
    for (let i = 0; i < 5; i++) limiter.log('warn', 'a', { i }, 'kind a');
    limiter.log('info', 'b', {}, 'kind b');
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(lines.map((line) => line.msg)).toEqual(['kind a', 'kind b', 'kind a (4 more in the last 50 ms)']);
    limiter.log('warn', 'a', {}, 'kind a');
    expect(lines.at(-1)?.msg).toBe('kind a');
  });

  it('switches to debug logging on SIGHUP, and back on the next', async () => {
    const server = await spawnServer(['--port', '0', '--data', tempDir()], { LOG_LEVEL: 'info' });
    server.child.kill('SIGHUP');
    await until(() => server.log.some((line) => line.msg === 'SIGHUP: log level is now debug'), 'debug logging on');
    server.child.kill('SIGHUP');
    await until(() => server.log.some((line) => line.msg === 'SIGHUP: log level is now info'), 'back to info');
    expect(await server.stop()).toBe(0);
  }, 30_000);
});
