import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticator.js';
import type { Bus, Presence } from '../cluster/bus.js';
import type { LogLimiter } from '../lib/log-limiter.js';
import type { Metrics } from '../lib/metrics.js';
import type { RoomLog } from '../storage/room-log.js';
import type { Storage } from '../storage/storage.js';
import type { ActivityLimiter } from './activity-limiter.js';
import type { RoomHooks } from './hooks.js';
import type { Room } from './room.js';
import type { RoomSettings } from './settings.js';

/** What every room shares: the server's services and settings. */
export interface RoomServices {
  storage: Storage;
  persistence: RoomLog;
  bus: Bus;
  /** Members across nodes (cluster mode). */
  presence: Presence | null;
  metrics?: Metrics;
  logLimiter: LogLimiter;
  log: Logger;
  authenticator: Authenticator;
  settings: RoomSettings;
  /** The app's logic around rooms (embedding). */
  hooks: RoomHooks;
}

export interface RoomContext extends RoomServices {
  activityLimiter: ActivityLimiter;
  /** True while the server shuts down: departures then are not recorded as "left". */
  isShuttingDown(): boolean;
  /** Called once the room has left memory (unloaded, or failed to load). */
  onGone(room: Room): void;
}
