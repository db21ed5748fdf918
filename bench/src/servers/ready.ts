/** What a server process holds after a full garbage collection (W3's live-memory figure). */
export interface LiveMemory {
  type: 'memory';
  /** V8 heap in use plus memory V8 tracks outside it (ArrayBuffers, Buffers), in bytes. */
  liveBytes: number;
}

/** Tells the orchestrator (the parent process) the port a bench server listens on. */
export function ready(port: number): void {
  process.send?.({ type: 'ready', port });
  // The orchestrator stops servers with SIGTERM; no server here needs a graceful flush.
  process.on('SIGTERM', () => process.exit(0));
  // Servers run with --expose-gc: collecting twice leaves only what is reachable, so W3 can
  // count what connections really hold rather than what the collector has not yet reclaimed.
  process.on('message', (message: { type?: string }) => {
    if (message.type !== 'memory') return;
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) throw new Error('bench servers must run with --expose-gc');
    gc();
    gc();
    const { heapUsed, external } = process.memoryUsage();
    process.send?.({ type: 'memory', liveBytes: heapUsed + external } satisfies LiveMemory);
  });
}
