#!/usr/bin/env node
import { ConfigError, configFromProcess } from './config.js';
import { startTandem } from './server.js';

/** The command-line entry: the only place that reads process.env and argv. */
async function main(): Promise<void> {
  let config;
  try {
    config = configFromProcess(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(error.message.startsWith('Usage:') ? 0 : 2);
  }
  const server = await startTandem(config);
  // Last resort: a bug must leave a line in the log saying what ended the process.
  process.on('uncaughtException', (error) => {
    server.log.fatal({ err: error }, 'uncaught exception; exiting');
    process.exit(1);
  });
  process.on('unhandledRejection', (error) => {
    server.log.fatal({ err: error }, 'unhandled promise rejection; exiting');
    process.exit(1);
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      server.log.warn(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    server.log.info({ signal }, 'shutting down');
    // Clients get the grace to close, then storage gets it again to take what is queued.
    const limitMs = 2 * config.shutdownGraceMs + 5_000;
    const deadline = setTimeout(() => {
      server.log.error(`shutdown took longer than ${limitMs} ms; exiting`);
      process.exit(1);
    }, limitMs);
    deadline.unref();
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        server.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // SIGHUP switches to debug logging for a look at a live problem, and the next one back.
  const configuredLevel = server.log.level;
  process.on('SIGHUP', () => {
    const next = server.log.level === 'debug' ? configuredLevel : 'debug';
    server.log.level = next;
    server.log.warn({ level: next }, `SIGHUP: log level is now ${next}`);
  });
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    console.error(`Port already in use: ${(error as Error).message}. Stop the other process or pick another --port / PORT.`);
  } else {
    console.error('Tandem failed to start:', error);
  }
  process.exit(1);
});
