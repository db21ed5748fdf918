import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorBody } from '../lib/http-error.js';
import type { Metrics } from '../lib/metrics.js';

/** Whether a request may read the metrics: always without a token, else with `Authorization: Bearer <token>`. */
export function metricsAllowed(authorization: string | undefined, token: string | null): boolean {
  if (token === null) return true;
  const given = Buffer.from(/^Bearer (.+)$/i.exec(authorization ?? '')?.[1] ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Answers a scrape: the exposition text, or 401 without the right token. */
export async function answerScrape(metrics: Metrics, token: string | null, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!metricsAllowed(req.headers.authorization, token)) {
    res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Bearer' });
    res.end(JSON.stringify(errorBody('unauthorized', 'the metrics need Authorization: Bearer <METRICS_TOKEN>')));
    return;
  }
  const { text, contentType } = await metrics.scrape();
  res.writeHead(200, { 'Content-Type': contentType });
  res.end(text);
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** /metrics on a port of its own (METRICS_PORT), so it need not be reachable where clients are. */
export async function serveMetrics(metrics: Metrics, token: string | null, port: number, host = '::'): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(errorBody('not_found', 'only /metrics is served here')));
      return;
    }
    answerScrape(metrics, token, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
