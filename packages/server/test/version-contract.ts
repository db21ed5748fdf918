import { expect, it } from 'vitest';
import * as Y from 'yjs';
import type { Storage } from '../src/index.js';
import type { NewVersion } from '../src/storage/storage.js';

const DAY = 86_400_000;
const ada = { id: 'u-ada', name: 'Ada' };

/** A document state with `text` in it. */
function stateOf(text: string): Uint8Array {
  const doc = new Y.Doc();
  doc.getText('t').insert(0, text);
  return Y.encodeStateAsUpdate(doc);
}

const version = (text: string, time: number, name: string | null = null): NewVersion => ({
  time,
  name,
  authors: [ada],
  state: stateOf(text),
});

/** The version history part of the storage contract; call inside its describe. */
export function versionContract(open: () => Promise<Storage>): void {
  it('stores versions, lists them newest first and returns their state', async () => {
    const storage = await open();
    const one = version('one', 1_000);
    const first = await storage.saveVersion('doc', one);
    const second = await storage.saveVersion('doc', version('two', 2_000, 'Draft'));
    await storage.saveVersion('other', version('x', 1_500));
    expect(first).toMatchObject({ time: 1_000, name: null, authors: [ada], size: one.state.byteLength });
    expect((await storage.listVersions('doc', 10)).map((v) => [v.id, v.name])).toEqual([
      [second!.id, 'Draft'],
      [first!.id, null],
    ]);
    const got = await storage.getVersion('doc', first!.id);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, got!.state);
    expect(doc.getText('t').toString()).toBe('one');
    expect(await storage.getVersion('other', first!.id)).toBeNull();
    expect(await storage.deleteDocument('doc')).toBe(true);
    expect(await storage.listVersions('doc', 10)).toEqual([]);
  });

  it('stores a state equal to the newest version once; a name goes to that version', async () => {
    const storage = await open();
    const state = stateOf('same');
    const first = await storage.saveVersion('doc', { time: 1, name: null, authors: [], state });
    expect(await storage.saveVersion('doc', { time: 2, name: null, authors: [ada], state })).toBeNull();
    const named = await storage.saveVersion('doc', { time: 3, name: 'Final', authors: [], state });
    expect(named).toMatchObject({ id: first!.id, name: 'Final', time: 1 });
    // Named already: a second name is a second (named) version.
    expect(await storage.saveVersion('doc', { time: 4, name: 'Again', authors: [], state })).toMatchObject({ name: 'Again' });
    expect(await storage.listVersions('doc', 10)).toHaveLength(2);
  });

  it('prunes automatic versions beyond the count and the age, keeping named ones and the newest', async () => {
    const storage = await open();
    const now = 100 * DAY;
    await storage.saveVersion('doc', version('old named', now - 60 * DAY, 'Launch'));
    await storage.saveVersion('doc', version('old', now - 40 * DAY));
    for (let i = 0; i < 5; i++) await storage.saveVersion('doc', version(`recent ${i}`, now - 5 * DAY + i));
    expect(await storage.pruneVersions('doc', { keep: 3, maxAgeMs: 30 * DAY }, now)).toBe(3);
    const left = await storage.listVersions('doc', 10);
    expect(left.map((v) => v.time)).toEqual([now - 5 * DAY + 4, now - 5 * DAY + 3, now - 5 * DAY + 2, now - 60 * DAY]);
    // The newest stays even when it is past the age limit.
    expect(await storage.pruneVersions('doc', { keep: 1, maxAgeMs: 1 }, now + 365 * DAY)).toBe(2);
    expect((await storage.listVersions('doc', 10)).map((v) => v.name)).toEqual([null, 'Launch']);
  });
}
