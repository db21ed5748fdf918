/** Tells the orchestrator (the parent process) the port a bench server listens on. */
export function ready(port: number): void {
  process.send?.({ type: 'ready', port });
  // The orchestrator stops servers with SIGTERM; no server here needs a graceful flush.
  process.on('SIGTERM', () => process.exit(0));
}
