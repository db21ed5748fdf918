#!/usr/bin/env node
/**
 * The admin API from a terminal: `npm run admin -- rooms`, `… kick <room> <member>`, `… close
 * <room>`, `… compact <room>`, `… read-only <room>`, `… writable <room>`, `… delete <room> --yes`,
 * `… log-level <level>`. Talks to TANDEM_URL (default
 * http://localhost:8000) with ADMIN_TOKEN, the token the server runs with.
 */
import type { Member } from '@tandem/protocol';
import { CliError, runCli } from './lib/cli.js';

const USAGE = `Usage: npm run admin -- <command>

  rooms                      live rooms: members, connections, size, message rate; refusals by code
  kick <room> <member>       disconnect a member (by name or id); their client does not reconnect by itself
  close <room>               close the room: every member is disconnected
  compact <room>             compact the room's stored log into one snapshot now
  read-only <room>           turn editing off for everyone (they keep reading and chatting); stored with the document
  writable <room>            turn editing back on
  delete <room> --yes        delete the document with all its history; its members are disconnected (4003)
  log-level <level>          fatal, error, warn, info, debug, trace or silent

Environment: TANDEM_URL (default http://localhost:8000), ADMIN_TOKEN (the server's ADMIN_TOKEN).`;

interface RoomOverview {
  name: string;
  connections: number;
  members: Member[];
  documentBytes: number;
  messagesPerSecond: number;
}

interface RoomsReply {
  rooms: RoomOverview[];
  refusals: Record<string, number>;
  closes: Record<string, number>;
  errors: Record<string, number>;
  storage: { ok: boolean; error?: string };
}

const base = (process.env.TANDEM_URL ?? 'http://localhost:8000').replace(/\/$/, '');

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const token = process.env.ADMIN_TOKEN;
  if (!token) throw new CliError('ADMIN_TOKEN is not set: use the token the server was started with.');
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new CliError(
      `cannot reach ${base} (${(error as Error).cause ?? (error as Error).message}); is Tandem running there? Set TANDEM_URL.`,
    );
  }
  const json = (await response.json().catch(() => ({}))) as T & { error?: string };
  if (!response.ok) throw new CliError(`${response.status}: ${json.error ?? response.statusText}`);
  return json;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function rooms(): Promise<string> {
  const reply = await call<RoomsReply>('GET', '/api/admin/rooms');
  const lines: string[] = [];
  if (reply.rooms.length === 0) lines.push('No rooms are loaded on this node.');
  else {
    const rows = [['ROOM', 'CONNECTIONS', 'MEMBERS', 'BYTES', 'MSG/S']];
    for (const room of reply.rooms) {
      const members = room.members.map((m) => `${m.name} (${m.id})`).join(', ') || '—';
      rows.push([room.name, String(room.connections), members, String(room.documentBytes), String(room.messagesPerSecond)]);
    }
    lines.push(table(rows));
  }
  const counts = (title: string, values: Record<string, number>): void => {
    const entries = Object.entries(values);
    if (entries.length > 0) lines.push(`${title}: ${entries.map(([key, n]) => `${key}×${n}`).join(' ')}`);
  };
  counts('refused upgrades (HTTP status)', reply.refusals);
  counts('closes (code)', reply.closes);
  counts('errors sent (code)', reply.errors);
  lines.push(reply.storage.ok ? 'storage: ok' : `storage: FAILING (${reply.storage.error})`);
  return lines.join('\n');
}

/** A member given by name or id: names are looked up in the room (and must be unambiguous). */
async function memberId(room: string, given: string): Promise<string> {
  const reply = await call<RoomsReply>('GET', '/api/admin/rooms');
  const members = reply.rooms.find((r) => r.name === room)?.members ?? [];
  if (members.some((m) => m.id === given)) return given;
  const named = members.filter((m) => m.name === given);
  if (named.length === 1) return named[0]!.id;
  if (named.length > 1)
    throw new CliError(`${named.length} members are called "${given}" in "${room}": give an id (${named.map((m) => m.id).join(', ')}).`);
  // Not on this node: in a cluster the server looks the id up on every node.
  return given;
}

async function run(args: string[]): Promise<string> {
  const [command, ...rest] = args;
  const need = (count: number): string[] => {
    if (rest.length !== count) throw new CliError(`"${command}" takes ${count} argument${count === 1 ? '' : 's'}.\n\n${USAGE}`);
    return rest;
  };
  const room = (name: string): string => encodeURIComponent(name);
  switch (command) {
    case 'rooms':
      need(0);
      return rooms();
    case 'kick': {
      const [name, member] = need(2) as [string, string];
      const reply = await call<{ disconnected: number }>('POST', `/api/admin/rooms/${room(name)}/disconnect`, {
        member: await memberId(name, member),
      });
      return `Disconnected ${member} from "${name}" (${reply.disconnected} connection${reply.disconnected === 1 ? '' : 's'}).`;
    }
    case 'close': {
      const [name] = need(1) as [string];
      const reply = await call<{ closed: number }>('POST', `/api/admin/rooms/${room(name)}/close`);
      return `Closed "${name}": ${reply.closed} connection${reply.closed === 1 ? '' : 's'} disconnected.`;
    }
    case 'compact': {
      const [name] = need(1) as [string];
      await call('POST', `/api/admin/rooms/${room(name)}/compact`);
      return `Compacted "${name}".`;
    }
    case 'read-only':
    case 'writable': {
      const [name] = need(1) as [string];
      await call('POST', `/api/admin/rooms/${room(name)}/read-only`, { readOnly: command === 'read-only' });
      return command === 'read-only' ? `"${name}" is read-only now.` : `"${name}" can be edited again.`;
    }
    case 'delete': {
      const [name, confirm] = rest;
      if (name === undefined || rest.length > 2) throw new CliError(`"delete" takes a room and --yes.\n\n${USAGE}`);
      if (confirm !== '--yes') throw new CliError(`Deleting "${name}" cannot be undone: run \`npm run admin -- delete ${name} --yes\`.`);
      const reply = await call<{ closed: number }>('DELETE', `/api/admin/rooms/${room(name)}`);
      return `Deleted "${name}" (${reply.closed} connection${reply.closed === 1 ? '' : 's'} closed).`;
    }
    case 'log-level': {
      const [level] = need(1) as [string];
      const reply = await call<{ level: string }>('PUT', '/api/admin/log-level', { level });
      return `Log level is now ${reply.level}.`;
    }
    default:
      throw new CliError(command === undefined || command === '--help' ? USAGE : `unknown command "${command}"\n\n${USAGE}`);
  }
}

runCli(run);
