import { describe, expect, it } from 'vitest';
import { InProcessBus } from '../src/index.js';
import { client, startServer, until } from './helpers.js';

describe('bus seam', () => {
  it('keeps one room in sync across three nodes that share a bus', async () => {
    const bus = new InProcessBus();
    const nodes = await Promise.all([0, 1, 2].map(() => startServer({}, { bus })));
    const handles = nodes.map((node, i) => client(node.wsUrl, 'spread', { name: `user-${i}` }));
    await Promise.all(handles.map((h) => h.whenSynced()));
    handles.forEach((h, i) => h.doc.getText('t').insert(0, `[${i}]`));
    const converged = (): boolean => {
      const texts = handles.map((h) => h.doc.getText('t').toString());
      return texts.every((t) => t === texts[0] && t.length === 9);
    };
    await until(converged, 'all three nodes converged');
    // Presence crosses nodes too.
    handles[0]!.awareness.setLocalStateField('user', { name: 'zero' });
    await until(() => [...handles[2]!.awareness.getStates().values()].some((s) => s.user?.name === 'zero'), 'awareness across nodes');
    expect(
      nodes.every((node) => node.registry.get('spread')?.doc.getText('t').toString() === handles[0]!.doc.getText('t').toString()),
    ).toBe(true);
  });
});
