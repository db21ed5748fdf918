export { startTandem, type StartOptions, type TandemServer } from './server.js';
export { makeConfig, configFromProcess, ConfigError, type Config, type ConfigInput } from './config.js';
export { AuthError, type Authenticator, type Identity } from './auth/authenticator.js';
export type { DocumentInfo, Storage, StoredRoom, RoomWrites, LoadOptions } from './storage/storage.js';
export { SqliteStorage } from './storage/sqlite.js';
export { PostgresStorage } from './storage/postgres.js';
export { InProcessBus, type Bus, type BusChannel, type BusMessage } from './cluster/bus.js';
export type { RoomRegistry } from './rooms/registry.js';
export type { Room, RoomState } from './rooms/room.js';
