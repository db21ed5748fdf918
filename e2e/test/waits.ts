/** Upper bound of every single wait in the suite (the brief: no wait longer than 15 s). */
export const WAIT_MS = 10_000;
/** For the few waits that include a reconnect backoff. */
export const LONG_WAIT_MS = 15_000;
