#!/usr/bin/env node
/**
 * Issues a JWT for local use: `npm run token -- --sub alice --name Alice --room "doc-*=write"`.
 * Signs with HS256 and the secret from --secret or JWT_SECRET (the one the server runs with).
 */
import { parseArgs } from 'node:util';
import { Rights } from '@tandem/protocol';
import { SignJWT } from 'jose';

const USAGE = `Usage: npm run token -- --sub <user id> [--name <display name>] --room <pattern>=<read|comment|write> [--room ...] [--ttl 1h] [--secret <secret>]

  --sub      the user id (JWT "sub")
  --name     the display name others see (optional)
  --room     a room-name pattern and the right it grants; * matches any characters; repeatable
  --ttl      lifetime: 90s, 15m, 1h, 7d (default 1h)
  --secret   the HS256 secret, at least 32 characters (default: $JWT_SECRET)`;

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function main(): Promise<string> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        sub: { type: 'string' },
        name: { type: 'string' },
        room: { type: 'string', multiple: true },
        ttl: { type: 'string', default: '1h' },
        secret: { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    fail((error as Error).message);
  }
  if (values.help) fail('Issues a Tandem access token.');
  const secret = values.secret ?? process.env.JWT_SECRET;
  if (!secret || secret.length < 32) fail('A secret of at least 32 characters is needed: --secret or JWT_SECRET.');
  if (!values.sub) fail('--sub is required.');
  if (!values.room?.length) fail('At least one --room is required.');
  const rooms: Record<string, Rights> = {};
  for (const grant of values.room) {
    const at = grant.lastIndexOf('=');
    const right = Rights.safeParse(grant.slice(at + 1));
    if (at <= 0 || !right.success) fail(`--room ${grant}: expected <pattern>=read|comment|write`);
    rooms[grant.slice(0, at)] = right.data;
  }
  const ttl = /^(\d+)([smhd])$/.exec(values.ttl);
  if (!ttl) fail(`--ttl ${values.ttl}: expected a number and s, m, h or d`);
  const seconds = Number(ttl[1]) * (UNITS[ttl[2]!] ?? 1);
  return new SignJWT({ rooms, ...(values.name ? { name: values.name } : {}) })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(values.sub)
    .setIssuedAt()
    .setExpirationTime(`${seconds}s`)
    .sign(new TextEncoder().encode(secret));
}

main().then((token) => console.log(token));
