import { RESUME_PAGE, SUBPROTOCOL } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import { startCluster, useClusterServices } from './cluster-setup.js';
import { controlMessages, member, rawSocket, until } from './helpers.js';

useClusterServices();

const seqs = (count: number, from = 1): number[] => Array.from({ length: count }, (_, i) => from + i);

// Compaction is held back, so PostgreSQL has none of the room's entries: everything past a node's
// memory is only in the Redis log, and must be read from there.
describe('cluster mode: missed and older entries that are not compacted into PostgreSQL yet', () => {
  it('resumes and scrolls back through entries that only the Redis log holds', async () => {
    const cluster = await startCluster(1, { config: { compactDelayMs: 600_000 } });
    const ada = await member(cluster.nodes[0]!.wsUrl, 'backlog', 'Ada');
    for (let i = 1; i <= 300; i++) ada.sendChat(`message ${i}`);
    await until(() => ada.chat.length === 300, 'all 300 are in the log', 15_000, ada);

    // A node that loads the room now holds its newest 200 in memory; the oldest 100 are only in Redis.
    const node = await cluster.start({ compactDelayMs: 600_000 });
    const ws = await rawSocket(node.wsUrl, 'backlog', SUBPROTOCOL);
    const received = controlMessages(ws);
    ws.send(JSON.stringify({ type: 'join', name: 'Late' }));
    ws.send(JSON.stringify({ type: 'resume', chatSeq: 0, activitySeq: 0 }));
    await until(() => received.some((m) => m.type === 'resumed'), 'the first page');
    const first = received.find((m) => m.type === 'resumed')!;
    expect(first.chat.map((m: { seq: number }) => m.seq)).toEqual(seqs(300));
    expect(first.complete).toBe(true);

    // Scrolling back from the welcome's oldest message reaches the first one, with no gap.
    const bo = await member(node.wsUrl, 'backlog', 'Bo', { historyLimit: 60 });
    // Pages of 30: the log holds more below a page than the page, as a long backlog would.
    while (bo.hasOlder('chat')) await bo.loadOlder('chat', 30);
    expect(bo.chat.map((m) => m.seq)).toEqual(seqs(300));
    expect(bo.chat[0]!.text).toBe('message 1');
  }, 60_000);

  it('lets a client that missed more than a node holds in memory catch up on another node', async () => {
    const cluster = await startCluster(2, { config: { compactDelayMs: 600_000 } });
    const [a, b] = cluster.nodes;
    const ada = await member(a!.wsUrl, 'away', 'Ada');
    const cy = await member(b!.wsUrl, 'away', 'Cy');
    ada.sendChat('before');
    await until(() => cy.chat.length === 1, 'Cy has the first message', 5_000, cy);
    cy.destroy();
    // More than a node keeps in memory (SEQ_LOG_TAIL, trimmed from twice that) and than one page.
    const missed = RESUME_PAGE + 100;
    for (let i = 1; i <= missed; i++) ada.sendChat(`while away ${i}`);
    await until(() => ada.chat.length === missed + 1, 'all are in the log', 30_000, ada);
    // Cy's connection is gone for good; a raw socket resumes from where Cy stopped, on node B.
    const ws = await rawSocket(b!.wsUrl, 'away', SUBPROTOCOL);
    const received = controlMessages(ws);
    ws.send(JSON.stringify({ type: 'join', name: 'Cy again' }));
    type Page = { chat: Array<{ seq: number }>; complete: boolean };
    const pages: Page[] = [];
    let after = 1;
    for (;;) {
      ws.send(JSON.stringify({ type: 'resume', chatSeq: after, activitySeq: 0 }));
      await until(() => received.filter((m) => m.type === 'resumed').length === pages.length + 1, `page ${pages.length + 1}`);
      const page = received.filter((m) => m.type === 'resumed').at(-1) as Page;
      pages.push(page);
      if (page.complete) break;
      after = page.chat.at(-1)!.seq;
    }
    expect(pages.map((page) => page.chat.length)).toEqual([RESUME_PAGE, 100]);
    expect(pages.flatMap((page) => page.chat.map((m) => m.seq))).toEqual(seqs(missed, 2));
  }, 60_000);
});
