import { writeFileSync } from 'node:fs';
import { TARGETS } from './targets.js';

export interface CaseResult {
  workload: string;
  variant: string;
  target: string;
  run: number;
  result?: Record<string, unknown>;
  error?: string;
}

type Row = Record<string, number> & { perStep?: Array<Record<string, number>> };

const median = (values: number[]): number => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** The median of every number across runs (booleans count as 0/1), per step too. */
function medianRow(results: Array<Record<string, unknown>>): Row {
  const row: Row = {} as Row;
  for (const key of Object.keys(results[0]!)) {
    if (key === 'perStep') continue;
    row[key] = median(results.map((r) => Number(r[key])));
  }
  const steps = results[0]!.perStep as Array<Record<string, number>> | undefined;
  if (steps) {
    row.perStep = steps.map((_, s) => {
      const step: Record<string, number> = {};
      for (const key of Object.keys(steps[s]!))
        step[key] = median(results.map((r) => (r.perStep as Array<Record<string, number>>)[s]![key]!));
      return step;
    });
  }
  return row;
}

const fmt = (value: number, digits = 1): string => {
  if (!Number.isFinite(value)) return '—';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(digits);
};
const ratio = (value: number, best: number): string =>
  Number.isFinite(value) && Number.isFinite(best) && best > 0 ? `${(value / best).toFixed(2)}×` : '—';

interface Group {
  workload: string;
  variant: string;
  rows: Array<{ target: string; row: Row | null; error?: string }>;
}

function groups(results: CaseResult[]): Group[] {
  const byKey = new Map<string, Group>();
  for (const r of results) {
    const key = `${r.workload} ${r.variant}`;
    if (!byKey.has(key)) byKey.set(key, { workload: r.workload, variant: r.variant, rows: [] });
  }
  for (const group of byKey.values()) {
    const targets = [...new Set(results.filter((r) => r.workload === group.workload && r.variant === group.variant).map((r) => r.target))];
    for (const target of targets) {
      const mine = results.filter((r) => r.workload === group.workload && r.variant === group.variant && r.target === target);
      const ok = mine.filter((r) => r.result).map((r) => r.result!);
      group.rows.push(ok.length > 0 ? { target, row: medianRow(ok) } : { target, row: null, error: mine[0]?.error ?? 'no result' });
    }
  }
  return [...byKey.values()];
}

/** The best value among rows of peers (`filter` narrows which peers). */
function bestPeer(group: Group, pick: (row: Row) => number, lowerIsBetter: boolean, filter: (id: string) => boolean = () => true): number {
  const values = group.rows
    .filter((r) => r.row && TARGETS[r.target]!.peer && filter(r.target))
    .map((r) => pick(r.row!))
    .filter(Number.isFinite);
  if (values.length === 0) return Number.NaN;
  return lowerIsBetter ? Math.min(...values) : Math.max(...values);
}
const yjsPeer = (id: string): boolean => id === 'hocuspocus' || id === 'y-websocket';

function table(headers: string[], rows: string[][]): string {
  return [`| ${headers.join(' | ')} |`, `| ${headers.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join(
    '\n',
  );
}

const label = (id: string): string => TARGETS[id]?.label ?? id;

function failedRows(group: Group, width: number): string[][] {
  return group.rows.filter((r) => !r.row).map((r) => [label(r.target), `failed: ${r.error}`, ...Array(width - 2).fill('')]);
}

const SUSTAINABLE_P99_MS = 100;

export function maxSustainable(row: Row): { rate: number; deliveriesPerSec: number; cpuPer1k: number; generatorCpuPct: number } {
  let best = { rate: Number.NaN, deliveriesPerSec: Number.NaN, cpuPer1k: Number.NaN, generatorCpuPct: Number.NaN };
  for (const step of row.perStep ?? []) {
    if (step.p99! < SUSTAINABLE_P99_MS && step.deliveredPct! >= 99.9 && !(step.deliveriesPerSec! < (best.deliveriesPerSec || 0))) {
      best = {
        rate: step.rate!,
        deliveriesPerSec: step.deliveriesPerSec!,
        cpuPer1k: step.cpuPer1k!,
        generatorCpuPct: step.generatorCpuPct!,
      };
    }
  }
  return best;
}

type Column = [header: string, cell: (row: Row) => string];
const first = (row: Row) => row.perStep![0]!;
const p99 = (row: Row) => first(row).p99!;
const cpuPer1k = (row: Row) => first(row).cpuPer1k!;

/** W7's goals for two Tandem nodes: p99 within 1.5× one node's and below Hocuspocus + Redis, CPU per delivery no more. */
function clusterGoals(rows: Map<string, Row>): string {
  const cluster = rows.get('tandem-cluster');
  const single = rows.get('tandem-sdk');
  const hocuspocus = rows.get('hocuspocus-redis');
  if (!cluster) return '';
  const goal = (what: string, value: number, reference: number, than: string, limit: number, strict: boolean) => {
    const r = value / reference;
    const verdict = !Number.isFinite(r) ? '—' : (strict ? r < limit : r <= limit) ? 'met' : 'NOT met';
    return `${what} ${ratio(value, reference)} ${than} (goal ${strict ? '<' : '≤'} ${limit}×: ${verdict})`;
  };
  const parts = [
    ...(single ? [goal('p99', p99(cluster), p99(single), 'one Tandem node', 1.5, false)] : []),
    ...(hocuspocus
      ? [
          goal('p99', p99(cluster), p99(hocuspocus), 'Hocuspocus + Redis', 1, true),
          goal('CPU per delivery', cpuPer1k(cluster), cpuPer1k(hocuspocus), 'Hocuspocus + Redis', 1, false),
        ]
      : []),
  ];
  return parts.length > 0 ? `\n\nTandem on two nodes: ${parts.join('; ')}.` : '';
}

/**
 * W1, W6, W7. A comparison column appears when the group has its reference: the best single-node
 * Yjs peer, the relay, Tandem on two nodes. With two-node rows, CPU counts every server-side
 * process and peak RSS the nodes' (summed).
 */
function typingSection(group: Group, title: string): string {
  const ok = group.rows.filter((r) => r.row) as Array<{ target: string; row: Row }>;
  const rows = new Map(ok.map((r) => [r.target, r.row]));
  const bestYjs = bestPeer(group, p99, true, yjsPeer);
  const relay = bestPeer(group, p99, true, (id) => id === 'relay');
  const cluster = rows.get('tandem-cluster');
  const twoNodes = ok.some((r) => TARGETS[r.target]!.cluster);
  const columns: Column[] = [
    ['p50 ms', (r) => fmt(first(r).p50!)],
    ['p99 ms', (r) => fmt(p99(r))],
    ...(twoNodes ? [['cross-node p99 ms', (r) => fmt(first(r).crossP99!)] satisfies Column] : []),
    ['max ms', (r) => fmt(first(r).max!)],
    ['deliveries/s', (r) => fmt(first(r).deliveriesPerSec!, 0)],
    ['delivered', (r) => `${fmt(first(r).deliveredPct!)} %`],
    ['converged', (r) => (r.converged === 1 ? 'yes' : 'NO')],
    [twoNodes ? 'server-side CPU ms / 1k deliveries (all processes)' : 'server CPU ms / 1k deliveries', (r) => fmt(cpuPer1k(r), 2)],
    [twoNodes ? 'peak RSS MB (nodes)' : 'peak RSS MB', (r) => fmt(r.peakRssMb!, 0)],
    ['generator CPU %', (r) => fmt(first(r).generatorCpuPct!, 0)],
    ...(Number.isFinite(bestYjs) ? [['p99 × best Yjs peer', (r) => ratio(p99(r), bestYjs)] satisfies Column] : []),
    ...(Number.isFinite(relay) ? [['p99 × relay', (r) => ratio(p99(r), relay)] satisfies Column] : []),
    ...(cluster
      ? ([
          ['p99 × tandem-cluster', (r) => ratio(p99(r), p99(cluster))],
          ['CPU / 1k × tandem-cluster', (r) => ratio(cpuPer1k(r), cpuPer1k(cluster))],
        ] satisfies Column[])
      : []),
  ];
  const headers = ['server', ...columns.map(([header]) => header)];
  const body = table(headers, [
    ...ok.map(({ target, row }) => [label(target), ...columns.map(([, cell]) => cell(row))]),
    ...failedRows(group, headers.length),
  ]);
  return `${title}\n\n${body}${group.workload === 'W7' ? clusterGoals(rows) : ''}`;
}

function section(group: Group): string {
  const title = `### ${group.workload} · ${group.variant}`;
  const ok = group.rows.filter((r) => r.row) as Array<{ target: string; row: Row }>;
  switch (group.workload) {
    case 'W1':
    case 'W6':
    case 'W7':
      return typingSection(group, title);
    case 'W2': {
      const best = bestPeer(group, (r) => maxSustainable(r).deliveriesPerSec, false, yjsPeer);
      const bestCpu = bestPeer(
        group,
        (r) => maxSustainable(r).cpuPer1k,
        true,
        (id) => id === 'hocuspocus',
      );
      const rates = ok[0]?.row.perStep?.map((s) => s.rate!) ?? [];
      const headers = [
        'server',
        `max sustainable deliveries/s (p99 < ${SUSTAINABLE_P99_MS} ms, none lost)`,
        '× best Yjs peer',
        'at Hz per writer',
        'server CPU ms / 1k there',
        '× Hocuspocus',
        'generator CPU % there',
        ...rates.map((r) => `${r} Hz: deliveries/s · p99 ms`),
      ];
      return `${title}\n\n${table(headers, [
        ...ok.map(({ target, row }) => {
          const top = maxSustainable(row);
          return [
            label(target),
            fmt(top.deliveriesPerSec, 0),
            ratio(top.deliveriesPerSec, best),
            fmt(top.rate, 0),
            fmt(top.cpuPer1k, 2),
            ratio(top.cpuPer1k, bestCpu),
            fmt(top.generatorCpuPct, 0),
            ...row.perStep!.map((s) => `${fmt(s.deliveriesPerSec!, 0)} · ${fmt(s.p99!)}`),
          ];
        }),
        ...failedRows(group, headers.length),
      ])}`;
    }
    case 'W3': {
      const relay = bestPeer(
        group,
        (r) => r.kbPerConnection!,
        true,
        (id) => id === 'relay',
      );
      const bestYjs = bestPeer(group, (r) => r.kbPerConnection!, true, yjsPeer);
      const relayLive = bestPeer(
        group,
        (r) => r.liveKbPerConnection!,
        true,
        (id) => id === 'relay',
      );
      const bestYjsLive = bestPeer(group, (r) => r.liveKbPerConnection!, true, yjsPeer);
      const headers = [
        'server',
        'server KB per connection (RSS growth)',
        '× relay',
        '× best Yjs peer',
        'live KB per connection (after a full GC)',
        '× relay',
        '× best Yjs peer',
        'connect + sync all, s',
        'connect p99 ms',
        'server RSS MB',
      ];
      return `${title}\n\n${table(headers, [
        ...ok.map(({ target, row }) => [
          label(target),
          fmt(row.kbPerConnection!),
          ratio(row.kbPerConnection!, relay),
          ratio(row.kbPerConnection!, bestYjs),
          fmt(row.liveKbPerConnection!),
          ratio(row.liveKbPerConnection!, relayLive),
          ratio(row.liveKbPerConnection!, bestYjsLive),
          fmt(row.connectS!, 2),
          fmt(row.connectP99!),
          fmt(row.rssMb!, 0),
        ]),
        ...failedRows(group, headers.length),
      ])}`;
    }
    case 'W4': {
      const bestJoin = bestPeer(group, (r) => r.joinP50!, true);
      const bestIngest = bestPeer(
        group,
        (r) => r.ingestCpuS!,
        true,
        (id) => id === 'y-websocket',
      );
      const bestIngestAll = bestPeer(
        group,
        (r) => r.ingestCpuAllS!,
        true,
        (id) => id === 'y-websocket',
      );
      const headers = [
        'server',
        'join p50 ms',
        '× best peer',
        'join p99 ms',
        'burst ingest: server CPU s',
        '× y-websocket',
        'with what follows (storage), until quiet: CPU s',
        '× y-websocket',
        'burst ingest: wall s',
        'joiners with the whole document',
      ];
      return `${title}\n\n${table(headers, [
        ...ok.map(({ target, row }) => [
          label(target),
          fmt(row.joinP50!),
          ratio(row.joinP50!, bestJoin),
          fmt(row.joinP99!),
          fmt(row.ingestCpuS!, 2),
          ratio(row.ingestCpuS!, bestIngest),
          fmt(row.ingestCpuAllS!, 2),
          ratio(row.ingestCpuAllS!, bestIngestAll),
          fmt(row.ingestWallS!, 2),
          `${row.completeJoins}/${row.joiners}`,
        ]),
        ...failedRows(group, headers.length),
      ])}`;
    }
    case 'W5': {
      const rates = ok[0]?.row.perStep?.map((s) => s.rate!) ?? [];
      const headers = ['server', ...rates.map((r) => `${r} msg/s: p50 · p99 ms · delivered · server CPU · generator CPU`)];
      return `${title}\n\n${table(headers, [
        ...ok.map(({ target, row }) => [
          label(target),
          ...row.perStep!.map(
            (s) =>
              `${fmt(s.p50!)} · ${fmt(s.p99!)} · ${fmt(s.deliveredPct!)} % · ${fmt(s.serverCpuPct!, 0)} % · ${fmt(s.generatorCpuPct!, 0)} %`,
          ),
        ]),
        ...failedRows(group, headers.length),
      ])}`;
    }
    default:
      return title;
  }
}

const DESCRIPTIONS: Record<string, string> = {
  W1: 'Typing fan-out: one room, 5 writers insert one character at 10 Hz; latency from insert to observation at every other client.',
  W2: 'Saturation: 100 clients, 10 writers, rate stepped up per writer; the highest deliveries/s whose p99 stays under 100 ms with nothing lost.',
  W3: "Idle connections across 100 rooms, connected and synced after a warm-up (a tenth as many clients came and left first, so one-time costs such as compiling code are not counted per connection): server memory per connection, as RSS growth (read a second after a full, compacting garbage collection, once the pages it evacuated are unmapped, with every server's young generation pinned at the same 2 MB so that how far V8 had grown it is not counted) and as live memory after that collection (V8 heap plus external buffers; kernel socket memory is not in either).",
  W4: 'Large document: built from a burst of small updates (server CPU to take it in, and including what follows until the server is quiet), then, once it is quiet, fresh clients join one after another.',
  W5: 'Chat fan-out in one room at rising total rates: end-to-end latency at every member, against a Socket.IO room broadcast. Every member keeps its last 50 messages, on both sides.',
  W6: 'One big room: 5 writers at 10 Hz; p99 and whether every update arrived. The 995 members who only read are light observers (real sockets and handshakes, no Y.Doc; see bench/README.md), so the load generator leaves the server room to be measured. The two-node rows split the members in halves over two nodes, the writers on the first; their CPU counts every server-side process (both nodes, redis-server, PostgreSQL with its backends).',
  W7: "W1's typing over two nodes: the same room, the clients split in halves over two nodes, the writers all on the first, so deliveries to the second node's half cross nodes (cross-node p99). Two Tandem nodes share a private redis-server and PostgreSQL; two Hocuspocus nodes share a redis-server through @hocuspocus/extension-redis and store nothing. Server-side CPU is summed over every server process: both nodes, redis-server and PostgreSQL's postmaster with all its backends.",
};

/** One panel per workload's headline number, bars per server. */
function chart(all: Group[]): string {
  const panels: Array<{ title: string; unit: string; bars: Array<{ target: string; value: number }> }> = [];
  const pick = (workload: string, title: string, unit: string, value: (row: Row) => number) => {
    const group = [...all].reverse().find((g) => g.workload === workload);
    if (!group) return;
    panels.push({
      title: `${title} (${group.variant})`,
      unit,
      bars: group.rows.filter((r) => r.row).map((r) => ({ target: r.target, value: value(r.row!) })),
    });
  };
  pick('W1', 'W1 typing fan-out: p99 latency, lower is better', 'ms', (r) => r.perStep![0]!.p99!);
  pick('W2', 'W2 saturation: max sustainable deliveries/s, higher is better', '/s', (r) => maxSustainable(r).deliveriesPerSec);
  pick('W3', 'W3 idle: server RSS growth per connection, lower is better', 'KB', (r) => r.kbPerConnection!);
  pick('W3', 'W3 idle: live memory per connection after a full GC, lower is better', 'KB', (r) => r.liveKbPerConnection!);
  pick('W4', 'W4 large document: join p50, lower is better', 'ms', (r) => r.joinP50!);
  pick('W4', 'W4 large document: burst ingest server CPU, lower is better', 's', (r) => r.ingestCpuS!);
  pick('W5', 'W5 chat: p99 at the top rate, lower is better', 'ms', (r) => r.perStep!.at(-1)!.p99!);
  pick('W6', 'W6 one big room: p99 latency, lower is better', 'ms', (r) => r.perStep![0]!.p99!);
  pick('W7', 'W7 typing over two nodes: p99 latency, lower is better', 'ms', p99);
  pick('W7', 'W7 typing over two nodes: server-side CPU per 1k deliveries, lower is better', 'ms', cpuPer1k);
  const width = 860;
  const labelWidth = 270;
  const barHeight = 18;
  let y = 10;
  const parts: string[] = [];
  const colors: Record<string, string> = {
    'tandem-sdk': '#4f46e5',
    'tandem-stock': '#818cf8',
    hocuspocus: '#f59e0b',
    'y-websocket': '#10b981',
    relay: '#94a3b8',
    socketio: '#ef4444',
    'tandem-cluster': '#3730a3',
    'hocuspocus-redis': '#b45309',
  };
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  for (const panel of panels) {
    parts.push(`<text x="10" y="${y + 14}" font-weight="600">${escape(panel.title)}</text>`);
    y += 24;
    const max = Math.max(...panel.bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)), 1e-9);
    for (const bar of panel.bars) {
      const w = Number.isFinite(bar.value) ? ((width - labelWidth - 90) * bar.value) / max : 0;
      parts.push(
        `<text x="${labelWidth - 8}" y="${y + 13}" text-anchor="end">${escape(label(bar.target))}</text>`,
        `<rect x="${labelWidth}" y="${y + 2}" width="${w.toFixed(1)}" height="${barHeight - 4}" fill="${colors[bar.target] ?? '#64748b'}"/>`,
        `<text x="${labelWidth + w + 6}" y="${y + 13}">${fmt(bar.value, bar.value < 10 ? 2 : 1)} ${panel.unit}</text>`,
      );
      y += barHeight;
    }
    y += 14;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" font-family="system-ui, sans-serif" font-size="12"><rect width="100%" height="100%" fill="#fff"/>${parts.join('')}</svg>\n`;
}

export function writeReport(
  dir: string,
  meta: { date: string; machine: string; runs: number; smoke: boolean; minutes: number },
  results: CaseResult[],
): void {
  const all = groups(results);
  const workloads = [...new Set(all.map((g) => g.workload))];
  const body = workloads
    .map((w) => [`## ${w}`, DESCRIPTIONS[w] ?? '', ...all.filter((g) => g.workload === w).map(section)].join('\n\n'))
    .join('\n\n');
  const header = `# Tandem benchmark results\n\n${meta.date.slice(0, 16).replace('T', ' ')} UTC · ${meta.machine} · ${meta.runs === 1 ? 'one run' : `medians of ${meta.runs} runs`}${meta.smoke ? ' · SMOKE SIZES (not a measurement)' : ''} · ${meta.minutes.toFixed(1)} min.\nReproduce with \`npm run bench\` (add \`-- --runs 2\` for medians). Each server runs in its own process; the load runs in others on the same machine, so ratios within one run are what counts.\n\n![chart](latest.svg)\n\n`;
  writeFileSync(`${dir}/latest.md`, `${header}${body}\n`);
  writeFileSync(`${dir}/latest.svg`, chart(all));
}
