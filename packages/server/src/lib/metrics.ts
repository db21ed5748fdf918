import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Traffic } from './traffic.js';

/** What the metrics read from the rest of the server at scrape time. */
export interface MetricsSources {
  traffic: Traffic;
  /** Members of each loaded room (no names: only the counts go into a histogram). */
  roomSizes(): number[];
  /** Document updates, chat messages and events queued and not yet durable. */
  unsaved(): { updates: number; entries: number };
}

const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Tandem's Prometheus metrics, on a registry of its own (servers in one process do not mix).
 * No label carries a room or user name: labels are protocols, frame kinds, documented codes and
 * outcomes, so the number of series is bounded. Hot-path counts come from Traffic at scrape time;
 * what happens a few hundred times a second at most (flushes, commits, loads) is observed here.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #flushSeconds: Histogram;
  readonly #framesPerFlush: Histogram;
  readonly #commitSeconds: Histogram<'outcome'>;
  readonly #storageFailures: Counter;
  readonly #roomLoadSeconds: Histogram<'outcome'>;
  readonly #redisSeconds: Histogram<'outcome'>;
  readonly #compactions: Counter<'outcome'>;
  readonly #webhookDeliveries: Counter<'outcome'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const { traffic } = sources;

    new Gauge({
      name: 'tandem_connections',
      help: 'Open WebSocket connections, by protocol (yjs: plain Yjs; tandem.v1: with the control channel).',
      labelNames: ['protocol'],
      registers,
      collect() {
        this.set({ protocol: 'yjs' }, traffic.yjsConnections);
        this.set({ protocol: 'tandem.v1' }, traffic.controlConnections);
      },
    });
    const roomSizes = sources.roomSizes;
    new Gauge({
      name: 'tandem_rooms_loaded',
      help: 'Rooms in memory on this node.',
      registers,
      collect() {
        this.set(roomSizes().length);
      },
    });
    new Histogram({
      name: 'tandem_room_members',
      help: 'Members per loaded room (observed afresh at each scrape).',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000],
      registers,
      collect() {
        this.reset();
        for (const size of roomSizes()) this.observe(size);
      },
    });
    const fromTraffic = (name: string, help: string, read: () => Record<string, number>): void => {
      new Counter({
        name,
        help,
        labelNames: ['kind'],
        registers,
        collect() {
          this.reset();
          for (const [kind, value] of Object.entries(read())) this.inc({ kind }, value);
        },
      });
    };
    fromTraffic('tandem_frames_received_total', 'WebSocket frames received, by kind (yjs: binary, control: JSON).', () => ({
      yjs: traffic.yjsFramesIn,
      control: traffic.controlFramesIn,
    }));
    fromTraffic('tandem_received_bytes_total', 'Bytes of WebSocket frames received, by kind.', () => ({
      yjs: traffic.yjsBytesIn,
      control: traffic.controlBytesIn,
    }));
    fromTraffic('tandem_frames_sent_total', 'WebSocket frames sent, by kind.', () => ({
      yjs: traffic.yjsFramesOut,
      control: traffic.controlFramesOut,
    }));
    fromTraffic('tandem_sent_bytes_total', 'Bytes of WebSocket frames sent, by kind.', () => ({
      yjs: traffic.yjsBytesOut,
      control: traffic.controlBytesOut,
    }));
    const fromMap = <K>(name: string, help: string, label: string, map: Map<K, number>): void => {
      new Counter({
        name,
        help,
        labelNames: [label],
        registers,
        collect() {
          this.reset();
          for (const [key, value] of map) this.inc({ [label]: String(key) }, value);
        },
      });
    };
    fromMap(
      'tandem_handshake_refusals_total',
      'WebSocket upgrades refused before a socket existed, by HTTP status.',
      'status',
      traffic.refusals,
    );
    fromMap(
      'tandem_closes_total',
      'Connections the server closed, by close code (1006: dropped without a close frame, for not reading or not answering pings). Not counted: 1001 at shutdown, 1009 for a frame over MAX_PAYLOAD_BYTES.',
      'code',
      traffic.closes,
    );
    fromMap('tandem_errors_sent_total', 'error messages sent to clients, by code (see docs/protocol.md).', 'code', traffic.errors);
    new Counter({
      name: 'tandem_rate_limited_frames_total',
      help: 'Frames held back because their connection was over its rate.',
      registers,
      collect() {
        this.reset();
        this.inc(traffic.rateLimited);
      },
    });
    const unsaved = sources.unsaved;
    new Gauge({
      name: 'tandem_storage_queue',
      help: 'What is queued for storage and not yet durable: document updates, and chat messages plus events.',
      labelNames: ['kind'],
      registers,
      collect() {
        const { updates, entries } = unsaved();
        this.set({ kind: 'updates' }, updates);
        this.set({ kind: 'entries' }, entries);
      },
    });
    let lastUtilization = performance.eventLoopUtilization();
    new Gauge({
      name: 'tandem_event_loop_utilization',
      help: 'Share of time the event loop was busy since the previous scrape (0-1).',
      registers,
      collect() {
        const now = performance.eventLoopUtilization();
        this.set(performance.eventLoopUtilization(now, lastUtilization).utilization);
        lastUtilization = now;
      },
    });
    this.#flushSeconds = new Histogram({
      name: 'tandem_fanout_flush_seconds',
      help: 'How long a room fan-out flush took (encoding and sending to every member).',
      buckets: SECONDS,
      registers,
    });
    this.#framesPerFlush = new Histogram({
      name: 'tandem_fanout_frames_per_flush',
      help: 'Frames a fan-out flush sent (one per member per merged update or awareness change).',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
      registers,
    });
    this.#commitSeconds = new Histogram({
      name: 'tandem_storage_commit_seconds',
      help: 'How long a storage commit took (SQLite/PostgreSQL transaction, or a Redis append in a cluster), by outcome.',
      labelNames: ['outcome'],
      buckets: SECONDS,
      registers,
    });
    this.#storageFailures = new Counter({
      name: 'tandem_storage_failures_total',
      help: 'Storage commits (or Redis appends) that failed and are retried.',
      registers,
    });
    this.#roomLoadSeconds = new Histogram({
      name: 'tandem_room_load_seconds',
      help: 'How long a room took to load from storage, by outcome.',
      labelNames: ['outcome'],
      buckets: SECONDS,
      registers,
    });
    this.#redisSeconds = new Histogram({
      name: 'tandem_redis_command_seconds',
      help: 'Cluster mode: how long Redis appends took, by outcome.',
      labelNames: ['outcome'],
      buckets: SECONDS,
      registers,
    });
    this.#compactions = new Counter({
      name: 'tandem_compactions_total',
      help: 'Cluster mode: compactions of a room log into PostgreSQL, by outcome (stored, skipped: another node reached further, failed).',
      labelNames: ['outcome'],
      registers,
    });
    this.#webhookDeliveries = new Counter({
      name: 'tandem_webhook_deliveries_total',
      help: 'Webhook deliveries, by outcome (delivered; retried: an attempt failed, another follows; rejected: a 4xx, not retried; dropped: gave up or pushed out of a full queue).',
      labelNames: ['outcome'],
      registers,
    });
  }

  fanoutFlushed(seconds: number, frames: number): void {
    this.#flushSeconds.observe(seconds);
    this.#framesPerFlush.observe(frames);
  }

  committed(seconds: number, ok: boolean): void {
    this.#commitSeconds.observe({ outcome: ok ? 'ok' : 'failed' }, seconds);
    if (!ok) this.#storageFailures.inc();
  }

  roomLoaded(seconds: number, ok: boolean): void {
    this.#roomLoadSeconds.observe({ outcome: ok ? 'ok' : 'failed' }, seconds);
  }

  redisAppended(seconds: number, ok: boolean): void {
    this.#redisSeconds.observe({ outcome: ok ? 'ok' : 'failed' }, seconds);
  }

  compacted(outcome: 'stored' | 'skipped' | 'failed'): void {
    this.#compactions.inc({ outcome });
  }

  webhookDelivery(outcome: 'delivered' | 'retried' | 'rejected' | 'dropped'): void {
    this.#webhookDeliveries.inc({ outcome });
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ text: string; contentType: string }> {
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
