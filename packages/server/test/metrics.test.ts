import { spawnSync } from 'node:child_process';
import { encodeUpdateMessage, SUBPROTOCOL } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { TandemServer } from '../src/index.js';
import { closeEvent, member, rawSocket, refusal, startServer, until } from './helpers.js';
import { freePort } from './ports.js';

const PROMTOOL = 'promtool is needed for this test (Prometheus’s own checker of the exposition format): apt-get install prometheus';

/**
 * Prometheus's own checker: a scrape it cannot parse, or a Tandem metric that breaks its naming
 * rules, is returned as a problem. (prom-client's default Node.js metrics have lint complaints
 * of their own, such as a gauge named `_total`; they are not Tandem's to fix.)
 */
function promtoolProblems(text: string): string[] {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (result.error) throw new Error(PROMTOOL);
  return `${result.stdout}${result.stderr}`.split('\n').filter((line) => line.startsWith('error') || line.startsWith('tandem_'));
}

type Samples = Awaited<ReturnType<TandemServer['metrics']['registry']['getMetricsAsJSON']>>;

/** A sample's value by metric name (a histogram's `_count` by its name too) and labels, as prom-client holds it. */
function value(samples: Samples, name: string, labels: Record<string, string> = {}): number {
  const family = name.endsWith('_count')
    ? samples.find((f) => f.name === name.slice(0, -'_count'.length))
    : samples.find((f) => f.name === name);
  const sample = family?.values.find(
    (v) =>
      (!name.endsWith('_count') || ('metricName' in v && v.metricName === name)) &&
      Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
  );
  return Number(sample?.value ?? NaN);
}

async function scrape(url: string, token?: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${url}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: response.status, text: await response.text() };
}

describe('/metrics', () => {
  it('moves as a scripted session goes, is valid exposition format, and names no room or user', async () => {
    const server = await startServer({ messagesPerSecond: 20, flushIntervalMs: 10 });
    const ada = await member(server.wsUrl, 'secret-room', 'Ada Lovelace');
    const plain = await rawSocket(server.wsUrl, 'secret-room');
    ada.doc.getText('t').insert(0, 'hello');
    ada.sendChat('hi');
    await until(() => ada.chat.length === 1, 'the chat acknowledged');
    await ada.whenSaved();
    // A refused upgrade, a malformed frame, and a flood over the rate.
    expect((await refusal(`${server.wsUrl}/nowhere`)).status).toBe(404);
    const bad = await rawSocket(server.wsUrl, 'secret-room', SUBPROTOCOL);
    const closed = closeEvent(bad);
    bad.send(new Uint8Array([0, 9, 9, 9]));
    expect((await closed).code).toBe(1007);
    const doc = new Y.Doc();
    for (let i = 0; i < 60; i++) {
      doc.getText('t').insert(0, 'x');
      plain.send(encodeUpdateMessage(Y.encodeStateAsUpdate(doc)));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));

    const { status, text } = await scrape(server.url);
    expect(status).toBe(200);
    expect(promtoolProblems(text)).toEqual([]);
    expect(text).not.toContain('secret-room');
    expect(text).not.toContain('Ada');
    // The values, as prom-client holds them (the text was serialized from these).
    const families = await server.metrics.registry.getMetricsAsJSON();
    expect(value(families, 'tandem_connections', { protocol: 'tandem.v1' })).toBe(1);
    expect(value(families, 'tandem_connections', { protocol: 'yjs' })).toBe(1);
    expect(value(families, 'tandem_rooms_loaded')).toBe(1);
    expect(value(families, 'tandem_room_members_count')).toBe(1);
    // Not all 60 of the flood: a connection over its rate is read from more slowly.
    expect(value(families, 'tandem_frames_received_total', { kind: 'yjs' })).toBeGreaterThan(20);
    expect(value(families, 'tandem_frames_received_total', { kind: 'control' })).toBeGreaterThanOrEqual(2);
    expect(value(families, 'tandem_frames_sent_total', { kind: 'control' })).toBeGreaterThanOrEqual(3);
    expect(value(families, 'tandem_sent_bytes_total', { kind: 'yjs' })).toBeGreaterThan(0);
    expect(value(families, 'tandem_handshake_refusals_total', { status: '404' })).toBe(1);
    expect(value(families, 'tandem_closes_total', { code: '1007' })).toBe(1);
    expect(value(families, 'tandem_rate_limited_frames_total')).toBeGreaterThan(0);
    expect(value(families, 'tandem_fanout_flush_seconds_count')).toBeGreaterThan(0);
    expect(value(families, 'tandem_storage_commit_seconds_count', { outcome: 'ok' })).toBeGreaterThan(0);
    expect(value(families, 'tandem_room_load_seconds_count', { outcome: 'ok' })).toBe(1);
    expect(value(families, 'tandem_event_loop_utilization')).toBeGreaterThan(0);
    expect(families.some((f) => f.name === 'process_cpu_user_seconds_total')).toBe(true);
    expect(families.some((f) => f.name === 'nodejs_eventloop_lag_p99_seconds')).toBe(true);
  });

  it('needs the bearer token when METRICS_TOKEN is set', async () => {
    const server = await startServer({ metricsToken: 'a-long-metrics-token' });
    expect((await scrape(server.url)).status).toBe(401);
    expect((await scrape(server.url, 'a-long-metrics-token-but-wrong')).status).toBe(401);
    const allowed = await scrape(server.url, 'a-long-metrics-token');
    expect(allowed.status).toBe(200);
    expect(allowed.text).toContain('tandem_connections');
  });

  it('moves to METRICS_PORT when that is set', async () => {
    const metricsPort = await freePort();
    const server = await startServer({ metricsPort });
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
    const separate = await scrape(`http://127.0.0.1:${metricsPort}`);
    expect(separate.status).toBe(200);
    expect(separate.text).toContain('tandem_rooms_loaded');
  });
});
