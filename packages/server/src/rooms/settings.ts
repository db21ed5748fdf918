import type { Config } from '../config.js';

/** The settings rooms read, straight from the server's configuration. */
export type RoomSettings = Pick<
  Config,
  | 'compactAfterUpdates'
  | 'fanoutIntervalMs'
  | 'roomIdleMs'
  | 'maxDocumentBytes'
  | 'maxPendingBytes'
  | 'leaveGraceMs'
  | 'activityPerMinute'
  | 'versionQuietMs'
  | 'versionMaxIntervalMs'
  | 'versionRetention'
  | 'versionRetentionDays'
>;
