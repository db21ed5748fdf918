/**
 * A load-generator process. The orchestrator forks several, gives each its share of clients
 * (setup), starts them together at an absolute time (go), and collects their results.
 */
import * as Y from 'yjs';
import { openChatClient, openDocClient, type ChatClient, type ClientKind, type DocClient } from './lib/clients.js';
import { Histogram, now } from './lib/histogram.js';
import { openObserver } from './lib/observers.js';
import { durationMs, insertsInStep, insertsPerWriter, insertTime, stepOf, WRITER_ID, type Step } from './lib/schedule.js';

export type WorkerSpec =
  | {
      workload: 'typing';
      kind: ClientKind;
      /** The URL of each node; a client connects to `bases[node]`. */
      bases: string[];
      clients: Array<{ room: string; writer: number | null; name: string; node: number }>;
      writers: number;
      /** The node each writer is on: a delivery to a client on another node is cross-node. */
      writerNodes: number[];
      steps: Step[];
      drainMs: number;
      /** 'light': members that do not write are light observers (see lib/observers.ts). */
      observers: 'full' | 'light';
    }
  | { workload: 'idle'; kind: ClientKind; base: string; clients: Array<{ room: string; name: string }>; concurrency: number }
  | { workload: 'largeDoc'; kind: ClientKind; base: string; room: string; updates: number; charsPerUpdate: number; joiners: number }
  | {
      workload: 'chat';
      kind: 'tandem' | 'socketio';
      base: string;
      room: string;
      members: Array<{ name: string; sender: number | null }>;
      senders: number;
      steps: Step[];
      drainMs: number;
    };

export type ToWorker = { type: 'setup'; spec: WorkerSpec } | { type: 'go'; t0: number } | { type: 'joins' };
export type FromWorker =
  { type: 'ready'; setupMs: number } | { type: 'mark'; name: string } | { type: 'result'; result: Record<string, unknown> };

// Each stock y-websocket provider adds a process 'exit' listener; hundreds per worker are expected.
process.setMaxListeners(0);

const send = (message: FromWorker): void => void process.send?.(message);
const sleepUntil = (at: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - now())));

/** Opens `count` things at most `concurrency` at a time. */
async function inBatches<T>(count: number, concurrency: number, open: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await open(i);
      }
    }),
  );
  return results;
}

function fnv(text: string): number {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
  return hash >>> 0;
}

/** Receives updates from every full client and light observer of this process, with the node it is on. */
type UpdateSink = (update: Uint8Array, node: number) => number;

async function typing(spec: Extract<WorkerSpec, { workload: 'typing' }>, clients: Array<DocClient | null>, t0: number) {
  const { steps, writers } = spec;
  const histograms = steps.map(() => new Histogram());
  const crossHistograms = steps.map(() => new Histogram());
  const deliveries = steps.map(() => 0);
  // Counts the writers' inserts in an update and records their latency.
  sink = (update, node) => {
    const at = now();
    const { from, to } = Y.parseUpdateMeta(update);
    let inserts = 0;
    for (const [id, start] of from) {
      const w = id - WRITER_ID;
      if (w < 0 || w >= writers) continue;
      for (let k = start; k < to.get(id)!; k++) {
        const s = stepOf(steps, k);
        const latency = at - (t0 + insertTime(steps, writers, w, k));
        histograms[s]!.record(latency);
        if (node !== spec.writerNodes[w]) crossHistograms[s]!.record(latency);
        deliveries[s]!++;
        inserts++;
      }
    }
    return inserts;
  };
  for (const [i, client] of clients.entries()) {
    client?.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== null) sink(update, spec.clients[i]!.node); // null: this client's own insert
    });
  }
  const perWriter = insertsPerWriter(steps);
  await Promise.all(
    spec.clients.map(async ({ writer }, i) => {
      if (writer === null) return;
      const text = clients[i]!.doc.getText('t');
      for (let k = 0; k < perWriter; k++) {
        await sleepUntil(t0 + insertTime(steps, writers, writer, k));
        text.insert(0, 'x');
      }
    }),
  );
  await sleepUntil(t0 + durationMs(steps));
  const expected = perWriter * writers;
  const full = clients.filter((c): c is DocClient => c !== null);
  const done = () => full.every((c) => c.doc.getText('t').length === expected) && observedCounts.every((n) => n >= expected);
  const deadline = now() + spec.drainMs;
  while (now() < deadline && !done()) await sleepUntil(now() + 50);
  const complete = full.filter((c) => c.doc.getText('t').length === expected).length + observedCounts.filter((n) => n === expected).length;
  return {
    histograms: histograms.map((h) => h.toJSON()),
    crossHistograms: crossHistograms.map((h) => h.toJSON()),
    deliveries,
    expectedLength: expected,
    complete,
    clients: clients.length,
    // Light observers keep no text: convergence is checked on the full clients.
    hashes: [...new Set(full.map((c) => fnv(c.doc.getText('t').toString())))],
  };
}

async function largeDoc(spec: Extract<WorkerSpec, { workload: 'largeDoc' }>, builder: DocClient, probe: DocClient) {
  const total = spec.updates * spec.charsPerUpdate;
  const chunk = 'abcdefghijklmnopqrstuvwxyz'.repeat(Math.ceil(spec.charsPerUpdate / 26)).slice(0, spec.charsPerUpdate);
  send({ type: 'mark', name: 'burst-start' });
  const started = now();
  const text = builder.doc.getText('t');
  for (let i = 0; i < spec.updates; i++) text.insert(text.length, chunk);
  while (probe.doc.getText('t').length < total) {
    if (now() - started > 120_000) throw new Error(`the burst did not arrive in 120 s (${probe.doc.getText('t').length}/${total})`);
    await sleepUntil(now() + 10);
  }
  const ingestMs = now() - started;
  send({ type: 'mark', name: 'burst-done' });
  // The joins are timed on a quiet system: the orchestrator waits for the server to settle
  // after the burst (storage, compaction), and this process gets the same pause.
  await new Promise<void>((resolve) => (startJoins = resolve));
  const joins = new Histogram();
  let complete = 0;
  for (let j = 0; j < spec.joiners; j++) {
    const begun = now();
    const joiner = openDocClient(spec.kind, spec.base, spec.room, { name: `joiner-${j}` });
    await joiner.synced;
    joins.record(now() - begun);
    if (joiner.doc.getText('t').length === total) complete++;
    joiner.close();
  }
  return { ingestMs, joins: joins.toJSON(), complete, joiners: spec.joiners };
}

async function chat(spec: Extract<WorkerSpec, { workload: 'chat' }>, members: ChatClient[], t0: number) {
  const { steps, senders } = spec;
  const histograms = steps.map(() => new Histogram());
  const deliveries = steps.map(() => 0);
  for (const member of members) {
    member.onMessage((text) => {
      const [sent, step] = text.split('|').map(Number);
      histograms[step!]!.record(now() - sent!);
      deliveries[step!]!++;
    });
  }
  // Step rates are totals for the room, shared by the senders.
  const perSender = steps.map((step) => ({ rate: step.rate / senders, seconds: step.seconds }));
  await Promise.all(
    spec.members.map(async ({ sender }, i) => {
      if (sender === null) return;
      const total = insertsPerWriter(perSender);
      for (let k = 0; k < total; k++) {
        const at = t0 + insertTime(perSender, senders, sender, k);
        await sleepUntil(at);
        members[i]!.send(`${now()}|${stepOf(perSender, k)}`);
      }
    }),
  );
  await sleepUntil(t0 + durationMs(steps) + spec.drainMs);
  const sentPerStep = perSender.map((step) => insertsInStep(step) * senders);
  return { histograms: histograms.map((h) => h.toJSON()), deliveries, sentPerStep, members: members.length };
}

let spec: WorkerSpec;
/** Full clients; null where a light observer stands instead. */
let docClients: Array<DocClient | null> = [];
/** Inserts each light observer has seen. */
const observedCounts: number[] = [];
/** Where updates go; nothing is counted before the run starts. */
let sink: UpdateSink = () => 0;
let chatClients: ChatClient[] = [];
/** Resolved by the orchestrator's 'joins' message (W4). */
let startJoins: () => void = () => {};

process.on('message', (message: ToWorker) => {
  void (async () => {
    if (message.type === 'setup') {
      spec = message.spec;
      const started = now();
      if (spec.workload === 'typing' || spec.workload === 'idle') {
        const s = spec;
        const connectTimes = new Histogram();
        docClients = await inBatches(s.clients.length, s.workload === 'idle' ? s.concurrency : 50, async (i) => {
          const { room, name } = s.clients[i]!;
          const writer = s.workload === 'typing' ? s.clients[i]!.writer : null;
          const node = s.workload === 'typing' ? s.clients[i]!.node : 0;
          const base = s.workload === 'typing' ? s.bases[node]! : s.base;
          const begun = now();
          if (s.workload === 'typing' && s.observers === 'light' && writer === null) {
            const index = observedCounts.push(0) - 1;
            await openObserver(s.kind, base, room, name, (update) => void (observedCounts[index]! += sink(update, node))).synced;
            connectTimes.record(now() - begun);
            return null;
          }
          const client = openDocClient(s.kind, base, room, { name, ...(writer === null ? {} : { clientId: WRITER_ID + writer }) });
          await client.synced;
          connectTimes.record(now() - begun);
          return client;
        });
        if (s.workload === 'idle') {
          send({ type: 'result', result: { connectMs: now() - started, connectTimes: connectTimes.toJSON() } });
          return;
        }
      } else if (spec.workload === 'largeDoc') {
        const pair = [
          openDocClient(spec.kind, spec.base, spec.room, { name: 'builder' }),
          openDocClient(spec.kind, spec.base, spec.room, { name: 'probe' }),
        ];
        await Promise.all(pair.map((c) => c.synced));
        docClients = pair;
      } else {
        const s = spec;
        chatClients = await inBatches(s.members.length, 50, async (i) => {
          const member = openChatClient(s.kind, s.base, s.room, s.members[i]!.name);
          await member.ready;
          return member;
        });
      }
      send({ type: 'ready', setupMs: now() - started });
    } else if (message.type === 'joins') {
      startJoins();
    } else if (message.type === 'go') {
      let result: Record<string, unknown>;
      if (spec.workload === 'typing') result = await typing(spec, docClients, message.t0);
      else if (spec.workload === 'largeDoc') result = await largeDoc(spec, docClients[0]!, docClients[1]!);
      else if (spec.workload === 'chat') result = await chat(spec, chatClients, message.t0);
      else throw new Error(`nothing to run for ${spec.workload}`);
      send({ type: 'result', result });
    }
  })().catch((error: unknown) => {
    console.error(`bench worker failed: ${(error as Error).stack ?? error}`);
    process.exit(1);
  });
});
