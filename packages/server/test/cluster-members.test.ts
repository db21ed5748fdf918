import type { RoomHandle } from '@tandem/client';
import { describe, expect, it } from 'vitest';
import { startCluster, useClusterServices } from './cluster-setup.js';
import { member, spawnServer, until, type TestServer } from './helpers.js';
import { switchableProxy } from './proxy.js';

useClusterServices();

const names = (handle: RoomHandle): string[] => handle.members.map((m) => m.name).sort();

describe('cluster mode: members across nodes', () => {
  it('lists members of every node, shows typing across nodes, and the documents API counts them all', async () => {
    const { nodes } = await startCluster(2);
    const [a, b] = nodes as [TestServer, TestServer];
    const ada = await member(a.wsUrl, 'room', 'Ada');
    const bob = await member(b.wsUrl, 'room', 'Bob');
    await until(() => names(ada).join() === 'Ada,Bob' && names(bob).join() === 'Ada,Bob', 'both see both', 10_000);
    bob.setTyping(true);
    await until(() => ada.getSnapshot().typing.some((m) => m.name === 'Bob'), 'Ada sees Bob typing', 5_000);
    const response = await fetch(`${a.url}/api/documents/room`);
    const document = (await response.json()) as { online: number; members: Array<{ name: string }> };
    expect(document.online).toBe(2);
    expect(document.members.map((m) => m.name).sort()).toEqual(['Ada', 'Bob']);
    bob.destroy();
    await until(() => names(ada).join() === 'Ada', 'Bob left Ada’s list', 5_000);
  }, 30_000);

  it('drops a dead node’s members from every list within 15 s and records their departure exactly once', async () => {
    const cluster = await startCluster(2, { config: { leaveGraceMs: 0 } });
    const [a, c] = cluster.nodes as [TestServer, TestServer];
    // Node B is a real process, so it can die for real (SIGKILL: nothing is cleaned up).
    const b = await spawnServer([], { REDIS_URL: cluster.redis.url, DATABASE_URL: cluster.databaseUrl, PORT: '0', LEAVE_GRACE_MS: '0' });
    const proxy = await switchableProxy(b.port);
    const ada = await member(a.wsUrl, 'crew', 'Ada');
    const cy = await member(c.wsUrl, 'crew', 'Cy');
    const bob = await member(proxy.url, 'crew', 'Bob');
    const everyone = [ada, cy, bob];
    await until(() => everyone.every((h) => names(h).join() === 'Ada,Bob,Cy'), 'everyone sees everyone', 10_000);
    const deadId = bob.me!.id;

    // B dies; the load balancer sends Bob to C.
    proxy.pointTo(c.port);
    const killedAt = Date.now();
    b.child.kill('SIGKILL');
    await until(() => bob.me !== null && bob.me.id !== deadId && bob.status.state === 'open', 'Bob is back, through node C', 10_000);
    await until(
      () => [ada, cy].every((h) => !h.members.some((m) => m.id === deadId)),
      'the dead node’s member is gone from every list',
      20_000,
    );
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    // Both surviving nodes noticed; one recorded the departure.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const leaves = ada.activity.filter((entry) => entry.kind === 'leave' && entry.member.id === deadId);
    expect(leaves).toHaveLength(1);
    expect(cy.activity.filter((entry) => entry.kind === 'leave' && entry.member.id === deadId)).toHaveLength(1);
    expect(names(ada)).toEqual(['Ada', 'Bob', 'Cy']);
  }, 60_000);
});
