import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ClientMessage, CloseCode, ErrorCodes, HttpErrorCodes, ServerMessage } from '../src/index.js';

const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');

/** The table rows of a section, keyed by the backticked first cell. */
function documented(section: string): Set<string> {
  const start = doc.indexOf(`## ${section}`);
  const rest = doc.slice(start + 3);
  const end = rest.search(/\n## /);
  const body = end === -1 ? rest : rest.slice(0, end);
  return new Set([...body.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!));
}

describe('docs/protocol.md', () => {
  it('documents every error code', () => {
    expect([...documented('Error codes')].sort()).toEqual(Object.keys(ErrorCodes).sort());
  });

  it('documents every HTTP error code', () => {
    expect([...documented('HTTP errors')].sort()).toEqual(Object.keys(HttpErrorCodes).sort());
  });

  it('documents every close code the server sends', () => {
    const codes = documented('Close codes');
    for (const code of Object.values(CloseCode)) expect(codes, `close code ${code}`).toContain(String(code));
  });

  it('documents every control message type in both directions', () => {
    const rows = documented('Frames');
    const types = [...ClientMessage.options, ...ServerMessage.options].map((schema) => schema.shape.type.value);
    for (const type of types) expect(rows, `message type ${type}`).toContain(type);
  });
});
