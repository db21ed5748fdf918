/**
 * `npm run bench`: runs every workload against Tandem and its peers, each server in its own
 * process and the load in others, and writes tables and a chart to bench/results/.
 *
 *   npm run bench                      the full comparison (about 10 minutes on 2 cores)
 *   npm run bench -- --runs 2          run everything twice and report medians
 *   npm run bench -- --only W1,W4      some workloads
 *   npm run bench -- --targets tandem-stock,hocuspocus
 *   npm run bench -- --only W3 --w3-clients 10000   W3 at another size (default 2,000)
 *   npm run bench -- --only W7         typing over two nodes (starts its own redis-server and PostgreSQL)
 *   npm run bench -- --smoke           seconds-long sizes: checks the harness, measures nothing
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Histogram, now, type HistogramData } from './lib/histogram.js';
import { cpuSeconds, memoryKb } from './lib/proc.js';
import type { Step } from './lib/schedule.js';
import { chunks, cpuInStep, forkTs, next, sampleAt, session, settle, sleep, stop } from './lib/processes.js';
import { requireServices } from './lib/services.js';
import { writeReport, type CaseResult } from './report.js';
import { CLUSTER_TARGETS, DOC_TARGETS, TARGETS, type Target } from './targets.js';
import type { LiveMemory } from './servers/ready.js';
import type { FromWorker, ToWorker, WorkerSpec } from './worker.js';
import { FULL, SMOKE, type Sizes } from './workloads.js';

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    runs: { type: 'string', default: '1' },
    only: { type: 'string' },
    targets: { type: 'string' },
    out: { type: 'string' },
    'w3-clients': { type: 'string' },
  },
});
const baseSizes: Sizes = args.smoke ? SMOKE : FULL;
const w3Clients = args['w3-clients'] === undefined ? baseSizes.w3.clients : Number(args['w3-clients']);
if (!Number.isInteger(w3Clients) || w3Clients < 1)
  throw new Error(`--w3-clients must be a positive whole number, not ${args['w3-clients']}`);
const sizes: Sizes = { ...baseSizes, w3: { ...baseSizes.w3, clients: w3Clients } };
const onlyWorkloads = args.only?.split(',').map((w) => w.trim().toUpperCase());
const onlyTargets = args.targets?.split(',').map((t) => t.trim());
const resultsDir = fileURLToPath(new URL(args.out ?? '../results/', import.meta.url));

const log = (line: string): void => void process.stderr.write(`${line}\n`);
type TypingResult = {
  histograms: HistogramData[];
  crossHistograms: HistogramData[];
  deliveries: number[];
  expectedLength: number;
  complete: number;
  clients: number;
  hashes: number[];
};

/**
 * W1, W2, W6, W7: writers insert one character at a time; everyone observes. On a cluster target
 * the clients are split in halves over the two nodes, the writers all on the first.
 */
async function typingCase(
  target: Target,
  clients: number,
  writers: number,
  steps: Step[],
  workerCount: number,
  observers: 'full' | 'light' = 'full',
) {
  return session(target, workerCount, async ({ bases, serverSide, workers }) => {
    const all = Array.from({ length: clients }, (_, i) => ({
      room: 'typing',
      writer: i < writers ? i : null,
      name: `user-${i}`,
      node: Math.floor((i * bases.length) / clients),
    }));
    const shares = chunks(all, workers.length);
    const setupStarted = now();
    await Promise.all(
      workers.map((worker, i) => {
        const spec: WorkerSpec = {
          workload: 'typing',
          kind: target.client as never,
          bases,
          clients: shares[i]!,
          writers,
          writerNodes: all.slice(0, writers).map((c) => c.node),
          steps,
          drainMs: 5_000,
          observers,
        };
        worker.send({ type: 'setup', spec } satisfies ToWorker);
        return next(worker, ['ready'], 'clients to connect');
      }),
    );
    await settle(serverSide);
    const setupS = (now() - setupStarted) / 1000;
    const t0 = now() + 1_000;
    const boundaries = [t0];
    for (const step of steps) boundaries.push(boundaries.at(-1)! + step.seconds * 1000);
    const samples = sampleAt(
      boundaries,
      serverSide,
      workers.map((w) => w.pid!),
    );
    const results = await Promise.all(
      workers.map((worker) => {
        worker.send({ type: 'go', t0 } satisfies ToWorker);
        return next<{ type: 'result'; result: TypingResult }>(worker, ['result'], 'the typing run').then((m) => m.result);
      }),
    );
    const cpu = await samples;
    const perStep = steps.map((step, s) => {
      const histogram = Histogram.from(results.map((r) => r.histograms[s]!));
      const deliveries = results.reduce((sum, r) => sum + r.deliveries[s]!, 0);
      // Every server-side process: on a cluster target both nodes, Redis and PostgreSQL.
      const serverCpuMs = cpuInStep(cpu, s, 'server') * 1000;
      const generatorCpu = cpuInStep(cpu, s, 'generators');
      return {
        rate: step.rate,
        p50: histogram.percentile(0.5),
        p99: histogram.percentile(0.99),
        // Deliveries to a client on another node than the writer's (none on one node: NaN).
        crossP99: Histogram.from(results.map((r) => r.crossHistograms[s]!)).percentile(0.99),
        max: histogram.max,
        deliveriesPerSec: deliveries / step.seconds,
        cpuPer1k: deliveries > 0 ? (serverCpuMs / deliveries) * 1000 : Number.NaN,
        serverCpuPct: serverCpuMs / (step.seconds * 10),
        generatorCpuPct: (generatorCpu * 100) / step.seconds,
        // Every insert of the step reached every other client.
        deliveredPct: (deliveries * 100) / (Math.round(step.rate * step.seconds) * writers * (clients - 1)),
      };
    });
    const converged = results.every((r) => r.complete === r.clients) && new Set(results.flatMap((r) => r.hashes)).size === 1;
    // Of the nodes only (summed over a cluster's two): Redis and PostgreSQL are not in it.
    const peakRssMb = serverSide.nodes.reduce((sum, pid) => sum + memoryKb(pid).peak, 0) / 1024;
    return { perStep, converged, setupS, peakRssMb };
  });
}

/**
 * The server's memory after a full garbage collection: live bytes, and RSS in KB read a second
 * later. Right after a compacting collection RSS still counts the pages it evacuated, until V8's
 * background thread unmaps them a few milliseconds on: read at once, RSS swung by up to 22 MB
 * from one collection to the next in an idle server.
 */
async function settledMemory(server: ChildProcess): Promise<{ liveBytes: number; rssKb: number }> {
  server.send({ type: 'memory' });
  const { liveBytes } = await next<LiveMemory>(server, ['memory'], 'the server to report its memory', 30_000);
  await sleep(1_000);
  return { liveBytes, rssKb: memoryKb(server.pid!).rss };
}

/**
 * The first connections to a fresh server process pay one-time costs that are not per
 * connection: code compiled on first use, prepared statements, heap spaces growing to their
 * working size. W3 lets `clients` connect to `rooms` of their own and leave before it measures, so
 * its figure is what one more connection costs (with 2,000 cold connections these costs were
 * a third or more of Tandem's figure; at 8,000 they mostly vanish for every server).
 */
async function warmUp(target: Target, base: string, clients: number, rooms: number, unloadMs: number): Promise<void> {
  const worker = forkTs('worker.ts');
  try {
    const warm = Array.from({ length: clients }, (_, i) => ({ room: `warm-${i % rooms}`, name: `warm-${i}` }));
    worker.send({
      type: 'setup',
      spec: { workload: 'idle', kind: target.client as never, base, clients: warm, concurrency: 25 },
    } satisfies ToWorker);
    await next(worker, ['result'], 'warm-up clients to connect');
  } finally {
    await stop(worker);
  }
  // Servers unload a room some time after its last member leaves (Tandem after ROOM_IDLE_MS, 5 s).
  await sleep(unloadMs);
}

/**
 * V8 flags for W3's servers, so that the memory readings count what the connections hold rather
 * than where the garbage collector happened to be (applied to every server alike):
 * - the young generation is pinned at 1 MB per semispace. Left alone, V8 grows it (up to 2 × 16 MB)
 *   during the connect storm and shrinks it only by heuristics that a forced collection does not
 *   trigger, so it was anywhere from 0 to 16 KB of a server's figure per connection at 2,000;
 * - every full collection compacts, as V8's memory reducer does for an idle process, so old-space
 *   pages left half empty by the storm's short-lived objects are not counted either.
 */
const STEADY_HEAP = ['--min-semi-space-size=1', '--max-semi-space-size=1', '--compact-on-every-full-gc'];

/** W3: many clients across many rooms, connected and synced, then idle. */
async function idleCase(target: Target) {
  const { clients, rooms, workers: workerCount, unloadMs } = sizes.w3;
  return session(
    target,
    workerCount,
    async ({ server, serverSide, workers, base }) => {
      await warmUp(target, base, Math.ceil(clients / 10), Math.ceil(rooms / 10), unloadMs);
      await settle(serverSide);
      const before = await settledMemory(server);
      const all = Array.from({ length: clients }, (_, i) => ({ room: `idle-${i % rooms}`, name: `idle-${i}` }));
      const shares = chunks(all, workers.length);
      const started = now();
      const results = await Promise.all(
        workers.map((worker, i) => {
          worker.send({
            type: 'setup',
            spec: { workload: 'idle', kind: target.client as never, base, clients: shares[i]!, concurrency: 25 },
          } satisfies ToWorker);
          return next<{ type: 'result'; result: { connectTimes: HistogramData } }>(worker, ['result'], 'idle clients to connect').then(
            (m) => m.result,
          );
        }),
      );
      const connectS = (now() - started) / 1000;
      await sleep(2_000);
      const after = await settledMemory(server);
      const connect = Histogram.from(results.map((r) => r.connectTimes));
      return {
        connectS,
        connectP99: connect.percentile(0.99),
        kbPerConnection: (after.rssKb - before.rssKb) / clients,
        liveKbPerConnection: (after.liveBytes - before.liveBytes) / 1024 / clients,
        rssMb: after.rssKb / 1024,
      };
    },
    STEADY_HEAP,
  );
}

/** W4: a document built from a burst of small updates, then fresh clients join one by one. */
async function largeDocCase(target: Target) {
  const { updates, charsPerUpdate, joiners } = sizes.w4;
  return session(target, 1, async ({ server, serverSide, workers: [worker], base }) => {
    worker!.send({
      type: 'setup',
      spec: { workload: 'largeDoc', kind: target.client as never, base, room: 'large', updates, charsPerUpdate, joiners },
    } satisfies ToWorker);
    await next(worker!, ['ready'], 'the builder to connect');
    const marks = new Map<string, number>();
    worker!.on('message', (message: FromWorker) => {
      if (message.type !== 'mark') return;
      marks.set(message.name, cpuSeconds(server.pid!));
      if (message.name !== 'burst-done') return;
      void settle(serverSide).then(() => {
        marks.set('settled', cpuSeconds(server.pid!));
        worker!.send({ type: 'joins' } satisfies ToWorker);
      });
    });
    worker!.send({ type: 'go', t0: now() } satisfies ToWorker);
    const { result } = await next<{
      type: 'result';
      result: { ingestMs: number; joins: HistogramData; complete: number; joiners: number };
    }>(worker!, ['result'], 'the large-document run');
    const joins = Histogram.from([result.joins]);
    return {
      joinP50: joins.percentile(0.5),
      joinP99: joins.percentile(0.99),
      ingestCpuS: marks.get('burst-done')! - marks.get('burst-start')!,
      // Also what the server did after the last update arrived (storage, compaction) until it went quiet.
      ingestCpuAllS: marks.get('settled')! - marks.get('burst-start')!,
      ingestWallS: result.ingestMs / 1000,
      completeJoins: result.complete,
      joiners: result.joiners,
    };
  });
}

/** W5: chat at rising rates in one big room. */
async function chatCase(target: Target) {
  const { members, senders, steps, workers: workerCount } = sizes.w5;
  return session(target, workerCount, async ({ serverSide, workers, base }) => {
    const all = Array.from({ length: members }, (_, i) => ({ name: `member-${i}`, sender: i < senders ? i : null }));
    const shares = chunks(all, workers.length);
    await Promise.all(
      workers.map((worker, i) => {
        const spec: WorkerSpec = {
          workload: 'chat',
          kind: target.client as 'tandem' | 'socketio',
          base,
          room: 'chat',
          members: shares[i]!,
          senders,
          steps,
          drainMs: 3_000,
        };
        worker.send({ type: 'setup', spec } satisfies ToWorker);
        return next(worker, ['ready'], 'chat members to join');
      }),
    );
    await settle(serverSide);
    const t0 = now() + 1_000;
    const boundaries = [t0];
    for (const step of steps) boundaries.push(boundaries.at(-1)! + step.seconds * 1000);
    const samples = sampleAt(
      boundaries,
      serverSide,
      workers.map((w) => w.pid!),
    );
    const results = await Promise.all(
      workers.map((worker) => {
        worker.send({ type: 'go', t0 } satisfies ToWorker);
        return next<{ type: 'result'; result: { histograms: HistogramData[]; deliveries: number[]; sentPerStep: number[] } }>(
          worker,
          ['result'],
          'the chat run',
        ).then((m) => m.result);
      }),
    );
    const cpu = await samples;
    return {
      perStep: steps.map((step, s) => {
        const histogram = Histogram.from(results.map((r) => r.histograms[s]!));
        const delivered = results.reduce((sum, r) => sum + r.deliveries[s]!, 0);
        return {
          rate: step.rate,
          p50: histogram.percentile(0.5),
          p99: histogram.percentile(0.99),
          deliveredPct: (delivered * 100) / (results[0]!.sentPerStep[s]! * members),
          serverCpuPct: (cpuInStep(cpu, s, 'server') * 100) / step.seconds,
          // Summed over the generator processes: near 100% per process, it is part of the latency.
          generatorCpuPct: (cpuInStep(cpu, s, 'generators') * 100) / step.seconds,
        };
      }),
    };
  });
}

interface Case {
  workload: string;
  variant: string;
  target: Target;
  run: () => Promise<Record<string, unknown>>;
}

function cases(): Case[] {
  const list: Case[] = [];
  const add = (workload: string, variant: string, targetIds: string[], run: (t: Target) => Promise<Record<string, unknown>>) => {
    if (onlyWorkloads && !onlyWorkloads.includes(workload)) return;
    for (const id of targetIds) {
      if (onlyTargets && !onlyTargets.includes(id)) continue;
      const target = TARGETS[id]!;
      list.push({ workload, variant, target, run: () => run(target) });
    }
  };
  const w1 = sizes.w1;
  for (const n of w1.clients) {
    add('W1', `N=${n}`, DOC_TARGETS, (t) => typingCase(t, n, w1.writers, [{ rate: w1.rate, seconds: w1.seconds }], Math.ceil(n / 100)));
  }
  const w2 = sizes.w2;
  add('W2', `N=${w2.clients}`, DOC_TARGETS, (t) => typingCase(t, w2.clients, w2.writers, w2.steps, w2.workers));
  add('W3', `N=${sizes.w3.clients}`, DOC_TARGETS, idleCase);
  // The relay keeps no document, so a joiner has nothing to load from it.
  add(
    'W4',
    `${sizes.w4.updates} updates`,
    DOC_TARGETS.filter((id) => id !== 'relay'),
    largeDocCase,
  );
  add('W5', `N=${sizes.w5.members}`, ['tandem-sdk', 'socketio'], chatCase);
  const w6 = sizes.w6;
  add('W6', `N=${w6.clients}`, [...DOC_TARGETS, ...CLUSTER_TARGETS], (t) =>
    typingCase(t, w6.clients, w6.writers, [{ rate: w6.rate, seconds: w6.seconds }], w6.workers, w6.observers),
  );
  // W7: W1 again, over two nodes, next to one Tandem node.
  for (const n of w1.clients) {
    add('W7', `N=${n}`, ['tandem-sdk', ...CLUSTER_TARGETS], (t) =>
      typingCase(t, n, w1.writers, [{ rate: w1.rate, seconds: w1.seconds }], Math.ceil(n / 100)),
    );
  }
  return list;
}

function summary(result: Record<string, unknown>): string {
  const step = (result.perStep as Array<Record<string, number>> | undefined)?.at(-1);
  if (step) return `p99 ${step.p99!.toFixed(1)} ms at ${step.rate}/s, ${Math.round(step.deliveriesPerSec ?? 0)} deliveries/s`;
  return Object.entries(result)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => `${k} ${(v as number).toFixed(2)}`)
    .join(', ');
}

async function main(): Promise<void> {
  const runs = Number(args.runs);
  const plan = cases();
  const clustered = plan.filter((c) => c.target.cluster);
  if (clustered.length > 0) {
    try {
      requireServices(clustered.some((c) => c.target.cluster!.postgres));
    } catch (error) {
      log(`Tandem bench: ${(error as Error).message}`);
      process.exitCode = 1;
      return;
    }
  }
  const results: CaseResult[] = [];
  const started = now();
  log(`Tandem bench: ${plan.length} cases × ${runs} run(s)${args.smoke ? ' (smoke sizes)' : ''}, ${cpus().length} cores`);
  for (let run = 1; run <= runs; run++) {
    for (const [i, c] of plan.entries()) {
      const label = `[run ${run}/${runs} · ${i + 1}/${plan.length}] ${c.workload} ${c.variant} · ${c.target.label}`;
      log(`${label} …`);
      const caseStarted = now();
      try {
        const result = await c.run();
        results.push({ workload: c.workload, variant: c.variant, target: c.target.id, run, result });
        log(`${label}: ${summary(result)} (${((now() - caseStarted) / 1000).toFixed(0)} s)`);
      } catch (error) {
        results.push({ workload: c.workload, variant: c.variant, target: c.target.id, run, error: (error as Error).message });
        log(`${label}: FAILED — ${(error as Error).message}`);
      }
    }
  }
  mkdirSync(resultsDir, { recursive: true });
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}`;
  const meta = { date: new Date().toISOString(), machine, runs, smoke: args.smoke ?? false, sizes, minutes: (now() - started) / 60_000 };
  writeFileSync(`${resultsDir}/latest.json`, JSON.stringify({ meta, results }, null, 1));
  writeReport(resultsDir, meta, results);
  log(`Done in ${meta.minutes.toFixed(1)} min: ${resultsDir}latest.md, latest.svg, latest.json`);
  const failed = results.filter((r) => r.error);
  if (failed.length > 0) {
    log(`${failed.length} case(s) failed`);
    process.exitCode = 1;
  }
}

await main();
