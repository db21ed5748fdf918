import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ConfigError, makeConfig } from '../src/index.js';
import { ClientAddresses } from '../src/transport/client-address.js';

/** A request as it reaches the server: the TCP peer's address and the headers it sent. */
function request(peer: string | undefined, forwardedFor?: string): IncomingMessage {
  const headers = forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
  return { socket: { remoteAddress: peer }, headers } as unknown as IncomingMessage;
}

describe('the client address behind proxies (TRUST_PROXY)', () => {
  it('ignores X-Forwarded-For when no proxy is trusted, or when the peer is not one', () => {
    expect(new ClientAddresses([]).ofRequest(request('203.0.113.5', '198.51.100.1'))).toBe('203.0.113.5');
    const trusting = new ClientAddresses(['10.0.0.1']);
    expect(trusting.ofRequest(request('203.0.113.5', '198.51.100.1'))).toBe('203.0.113.5');
    expect(trusting.ofSocket({ remoteAddress: '203.0.113.5' })).toBe('203.0.113.5');
  });

  it('takes the address a trusted proxy saw, and not what the client wrote to the left of it', () => {
    const addresses = new ClientAddresses(['10.0.0.1']);
    expect(addresses.ofRequest(request('10.0.0.1', '198.51.100.1'))).toBe('198.51.100.1');
    // The client sent "X-Forwarded-For: 192.0.2.66"; the proxy appended the address it saw.
    expect(addresses.ofRequest(request('10.0.0.1', '192.0.2.66, 198.51.100.1'))).toBe('198.51.100.1');
    // No header (a health check from the proxy itself): the proxy is the client.
    expect(addresses.ofRequest(request('10.0.0.1'))).toBe('10.0.0.1');
    expect(addresses.ofSocket({ remoteAddress: '10.0.0.1' })).toBeNull();
  });

  it('follows a chain of two trusted proxies to the right-most untrusted address', () => {
    const addresses = new ClientAddresses(['10.0.0.0/8', '172.16.0.1']);
    // client 198.51.100.1 → edge proxy 172.16.0.1 → nginx 10.1.2.3 → Tandem
    expect(addresses.ofRequest(request('10.1.2.3', '192.0.2.66, 198.51.100.1, 172.16.0.1'))).toBe('198.51.100.1');
    // Only trusted hops: the left-most is as far as anyone can tell.
    expect(addresses.ofRequest(request('10.1.2.3', '10.9.9.9, 172.16.0.1'))).toBe('10.9.9.9');
    // A hop that is not trusted ends the walk, even if trusted addresses lie beyond it.
    expect(addresses.ofRequest(request('10.1.2.3', '198.51.100.1, 10.0.0.7, 203.0.113.8'))).toBe('203.0.113.8');
  });

  it('matches IPv6 and IPv4-mapped peers, and counts an IPv4 client as IPv4 however it arrives', () => {
    const loopback = new ClientAddresses(['loopback']);
    expect(loopback.ofRequest(request('::ffff:127.0.0.1', '198.51.100.1'))).toBe('198.51.100.1');
    expect(loopback.ofRequest(request('::1', '2001:db8::1'))).toBe('2001:db8::1');
    expect(loopback.ofSocket({ remoteAddress: '::ffff:127.0.0.1' })).toBeNull();
    expect(loopback.ofSocket({ remoteAddress: '::1' })).toBeNull();
    expect(loopback.ofRequest(request('::ffff:198.51.100.1', '192.0.2.66'))).toBe('198.51.100.1');
    expect(loopback.ofSocket({ remoteAddress: '::ffff:198.51.100.1' })).toBe('198.51.100.1');
    expect(loopback.ofRequest(request('127.0.0.1', '::ffff:198.51.100.1'))).toBe('198.51.100.1');
    // A plain IPv4 entry trusts the same proxy reaching a dual-stack socket.
    expect(new ClientAddresses(['127.0.0.1']).ofRequest(request('::ffff:127.0.0.1', '198.51.100.1'))).toBe('198.51.100.1');
    expect(new ClientAddresses(['127.0.0.1']).ofRequest(request('::1', '198.51.100.1'))).toBe('::1');
  });

  it('believes X-Forwarded-Proto from a trusted proxy only, the nearest entry', () => {
    const from = (peer: string, proto: string | undefined): IncomingMessage =>
      ({
        socket: { remoteAddress: peer },
        headers: proto === undefined ? {} : { 'x-forwarded-proto': proto },
      }) as unknown as IncomingMessage;
    const addresses = new ClientAddresses(['loopback']);
    expect(addresses.forwardedScheme(from('127.0.0.1', 'https'))).toBe('https');
    expect(addresses.forwardedScheme(from('::1', 'http, HTTPS'))).toBe('https');
    expect(addresses.forwardedScheme(from('127.0.0.1', 'https, http'))).toBe('http');
    expect(addresses.forwardedScheme(from('127.0.0.1', 'gopher'))).toBeNull();
    expect(addresses.forwardedScheme(from('127.0.0.1', undefined))).toBeNull();
    expect(addresses.forwardedScheme(from('203.0.113.5', 'https'))).toBeNull();
    expect(new ClientAddresses([]).forwardedScheme(from('127.0.0.1', 'https'))).toBeNull();
  });

  it('reads TRUST_PROXY as a comma-separated list and refuses an entry that is not an address or range', () => {
    expect(makeConfig().trustProxy).toEqual([]);
    expect(makeConfig({ trustProxy: 'loopback, 10.0.0.0/8,,2001:db8::/32' }).trustProxy).toEqual([
      'loopback',
      '10.0.0.0/8',
      '2001:db8::/32',
    ]);
    expect(() => makeConfig({ trustProxy: 'loopback,nginx.internal' })).toThrow(ConfigError);
    expect(() => makeConfig({ trustProxy: '10.0.0.0/40' })).toThrow(
      /trustProxy \(--trust-proxy \/ TRUST_PROXY\): "10\.0\.0\.0\/40" is not an IP address, a CIDR range/,
    );
  });
});
