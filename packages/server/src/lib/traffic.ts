/**
 * What the hot path counts: plain numbers bumped per frame (no allocation, no label lookup), read
 * by the metrics at scrape time. One instance per server, shared by its connections.
 */
export class Traffic {
  yjsFramesIn = 0;
  yjsBytesIn = 0;
  controlFramesIn = 0;
  controlBytesIn = 0;
  yjsFramesOut = 0;
  yjsBytesOut = 0;
  controlFramesOut = 0;
  controlBytesOut = 0;
  /** Frames held back because their connection was over its rate. */
  rateLimited = 0;
  /** Connections open now, by protocol. */
  yjsConnections = 0;
  controlConnections = 0;
  /** Closes the server made, by close code (1006: it dropped the peer without a close frame). */
  readonly closes = new Map<number, number>();
  /** Upgrade requests refused before a WebSocket existed, by HTTP status. */
  readonly refusals = new Map<number, number>();
  /** `error` messages sent, by code. */
  readonly errors = new Map<string, number>();

  received(isBinary: boolean, bytes: number): void {
    if (isBinary) {
      this.yjsFramesIn++;
      this.yjsBytesIn += bytes;
    } else {
      this.controlFramesIn++;
      this.controlBytesIn += bytes;
    }
  }

  static bump<K>(map: Map<K, number>, key: K): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }
}
