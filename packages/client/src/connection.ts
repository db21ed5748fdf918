import {
  CloseCode,
  FATAL_CLOSE_CODES,
  SUBPROTOCOL,
  TOKEN_PROTOCOL_PREFIX,
  type ClientMessage,
  type ErrorCode,
  type HttpErrorCode,
  type ServerMessage,
} from '@tandem/protocol';
import { backoffDelay, type BackoffOptions } from './backoff.js';

/**
 * An event handler property. Written as a method's type so that its parameter is checked both
 * ways: the browser's and `ws`'s handlers take richer events than the fields the SDK reads.
 */
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'] | null;

/** The part of a WebSocket the SDK uses; the browser's and `ws`'s both have it. */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: Handler<unknown>;
  onmessage: Handler<{ data: unknown }>;
  onclose: Handler<{ code: number; reason: string }>;
  onerror: Handler<unknown>;
  send(data: Uint8Array | string): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor: the browser's, or `WebSocket` from the `ws` package on Node. */
export type WebSocketLike = new (url: string, protocols?: string | string[]) => SocketLike;

/** A token, or a function returning one (called for every attempt and when the server asks for a fresh one). */
export type TokenSource = string | (() => string | Promise<string>);

/** Why the server refused the WebSocket handshake: its HTTP status, and the documented code when it sent one. */
export interface HandshakeRefusal {
  status: number;
  code: HttpErrorCode | null;
  message: string;
}

export type Status =
  | { state: 'connecting'; attempt: number }
  | { state: 'open' }
  /** `error`: the server refused the last attempt, and why (it may accept a later one: a full room, a rate limit). */
  | { state: 'reconnecting'; attempt: number; delayMs: number; retryAt: number; closeCode: number; error?: HandshakeRefusal }
  /**
   * `code`: why retrying cannot help, when the handle gave up by itself (for example
   * `token_expired`, or `origin_not_allowed` with the server's refusal in `error`).
   */
  | { state: 'closed'; reason: string; code?: RoomErrorCode; error?: HandshakeRefusal };

/** The server's error codes (control messages and refused handshakes), and two of the SDK's own: a token function failed, a server frame was not JSON. */
export type RoomErrorCode = ErrorCode | HttpErrorCode | 'token_unavailable' | 'bad_server_message';

/** How long the SDK waits for the server to say why it refused a handshake. */
const PROBE_TIMEOUT_MS = 5_000;

/** Refusals that the same request would meet again: the handle stops instead of retrying forever. */
const FINAL_REFUSALS: ReadonlySet<string> = new Set<HttpErrorCode>([
  'bad_request',
  'invalid_name',
  'forbidden',
  'origin_not_allowed',
  'not_found',
]);

export interface ConnectionHandlers {
  /** A socket opened: start the sync exchange and join. */
  open(): void;
  /** A control (JSON) message arrived. */
  control(message: ServerMessage): void;
  /** A binary (Yjs) frame arrived. */
  binary(data: ArrayBuffer): void;
  /** The socket closed (not by `close()`); a retry follows unless the status says closed. */
  lost(): void;
  status(status: Status): void;
  error(error: { code: RoomErrorCode; message: string }): void;
}

export interface ConnectionOptions {
  url: string;
  WebSocket: WebSocketLike;
  backoff: BackoffOptions;
  token: TokenSource | undefined;
}

/** When a JWT expires (ms since the epoch), read without verifying it; null if it is not a JWT with `exp`. */
function tokenExpiry(token: string): number | null {
  try {
    const payload = token.split('.')[1];
    if (!payload) return null;
    const json = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown };
    return typeof json.exp === 'number' ? json.exp * 1000 : null;
  } catch {
    return null;
  }
}

/**
 * One WebSocket at a time to a room, reopened with exponential backoff and full jitter until
 * `close()`: the socket, the token, the status and the retries. It gives up by itself only when
 * retrying cannot help (a fixed token that expired, a fatal close code).
 */
export class Connection {
  readonly #options: ConnectionOptions;
  readonly #handlers: ConnectionHandlers;
  #ws: SocketLike | null = null;
  #status: Status = { state: 'connecting', attempt: 0 };
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #stableTimer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;
  /** Whether the current socket opened: one that closes before it did was (most likely) refused. */
  #opened = false;
  /** The token the current socket was opened with. */
  #token: string | undefined;

  constructor(options: ConnectionOptions, handlers: ConnectionHandlers) {
    this.#options = options;
    this.#handlers = handlers;
    if (typeof window !== 'undefined') window.addEventListener('online', this.#retryNow);
    this.#open();
  }

  get status(): Status {
    return this.#status;
  }

  get isOpen(): boolean {
    return this.#ws?.readyState === 1;
  }

  /** Sends on the open socket; returns false (and drops `data`) when there is none. */
  send(data: Uint8Array | string): boolean {
    if (this.#ws?.readyState !== 1) return false;
    this.#ws.send(data);
    return true;
  }

  sendJson(message: ClientMessage): void {
    this.send(JSON.stringify(message));
  }

  /** Answers the server's "token expiring" with a fresh token, when there is a function to get one. */
  async renewToken(): Promise<void> {
    if (typeof this.#options.token !== 'function') return;
    try {
      this.sendJson({ type: 'auth', token: await this.#options.token() });
    } catch (error) {
      this.#handlers.error({ code: 'token_unavailable', message: `could not renew the token: ${(error as Error).message}` });
    }
  }

  /** Closes for good (no more retries). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearTimers();
    if (typeof window !== 'undefined') window.removeEventListener('online', this.#retryNow);
    this.#ws?.close(CloseCode.normal, 'client closed');
    this.#ws = null;
    this.#setStatus({ state: 'closed', reason: 'closed by the client' });
  }

  #open(): void {
    // A fixed token that has expired will be refused on every attempt: say so and stop.
    const token = this.#options.token;
    const expiresAt = typeof token === 'string' ? tokenExpiry(token) : null;
    if (expiresAt !== null && expiresAt <= Date.now()) {
      const iso = new Date(expiresAt).toISOString();
      this.#giveUp('token_expired', `the token expired at ${iso}; connect again with a fresh one (or pass a function that returns one)`);
      return;
    }
    this.#setStatus({ state: 'connecting', attempt: this.#attempt });
    void this.#protocols().then(
      (protocols) => {
        if (this.#closed) return;
        let ws: SocketLike;
        try {
          ws = new this.#options.WebSocket(this.#options.url, protocols);
        } catch (error) {
          this.#setStatus({ state: 'closed', reason: `cannot connect to ${this.#options.url}: ${(error as Error).message}` });
          return;
        }
        ws.binaryType = 'arraybuffer';
        this.#ws = ws;
        this.#opened = false;
        ws.onopen = () => this.#onOpen(ws);
        ws.onmessage = (event) => {
          if (ws === this.#ws) this.#onMessage(event.data as ArrayBuffer | string);
        };
        ws.onclose = (event) => this.#onClose(ws, event.code, event.reason);
        // An error is always followed by a close event, which does the work.
        ws.onerror = () => {};
      },
      (error: unknown) => {
        this.#handlers.error({ code: 'token_unavailable', message: `could not get a token: ${(error as Error).message}` });
        this.#scheduleRetry(1006);
      },
    );
  }

  /** The subprotocol list: tandem.v1, and the token when there is one. */
  async #protocols(): Promise<string[]> {
    const source = this.#options.token;
    const token = typeof source === 'function' ? await source() : source;
    this.#token = token || undefined;
    return token ? [SUBPROTOCOL, TOKEN_PROTOCOL_PREFIX + token] : [SUBPROTOCOL];
  }

  #onMessage(data: ArrayBuffer | string): void {
    if (typeof data !== 'string') {
      this.#handlers.binary(data);
      return;
    }
    // The server validates what it receives and builds what it sends from the protocol's
    // types, so the client parses without re-validating each message (80k/s in a busy room).
    let message: ServerMessage;
    try {
      message = JSON.parse(data) as ServerMessage;
    } catch {
      this.#handlers.error({ code: 'bad_server_message', message: 'a control frame was not JSON' });
      return;
    }
    this.#handlers.control(message);
  }

  #onOpen(ws: SocketLike): void {
    if (ws !== this.#ws) return;
    this.#opened = true;
    this.#setStatus({ state: 'open' });
    this.#stableTimer = setTimeout(() => {
      this.#attempt = 0;
    }, this.#options.backoff.stableMs);
    this.#handlers.open();
  }

  #onClose(ws: SocketLike, code: number, reason: string): void {
    if (ws !== this.#ws) return;
    this.#ws = null;
    if (this.#stableTimer) clearTimeout(this.#stableTimer);
    this.#stableTimer = null;
    this.#handlers.lost();
    if (this.#closed) return;
    if (FATAL_CLOSE_CODES.has(code)) {
      this.#setStatus({ state: 'closed', reason: `server closed the connection (${code}${reason ? `: ${reason}` : ''})` });
      return;
    }
    if (!this.#opened) {
      void this.#explainRefusal(code);
      return;
    }
    this.#scheduleRetry(code);
  }

  /** A socket closed before it opened: asks the server why, then gives up or retries. */
  async #explainRefusal(closeCode: number): Promise<void> {
    const refusal = await this.#whyRefused();
    if (this.#closed) return;
    if (!refusal) {
      this.#scheduleRetry(closeCode);
      return;
    }
    const final = FINAL_REFUSALS.has(refusal.code ?? '') || (refusal.code === 'unauthorized' && typeof this.#options.token !== 'function');
    if (final)
      this.#giveUp(refusal.code ?? 'bad_request', `the server refused the connection (${refusal.status}): ${refusal.message}`, refusal);
    else this.#scheduleRetry(closeCode, refusal);
  }

  /**
   * Browsers hide the HTTP status of a refused WebSocket handshake, so the server answers the same
   * URL over HTTP with the reason (see docs/protocol.md). Null when it cannot tell: the server is
   * unreachable (then retrying is right), or it would accept the handshake now.
   */
  async #whyRefused(): Promise<HandshakeRefusal | null> {
    if (typeof fetch !== 'function') return null;
    const url = new URL(this.#options.url);
    url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
    if (this.#token) url.searchParams.set('token', this.#token);
    try {
      const response = await fetch(url, { cache: 'no-store', signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      if (response.ok) return null;
      const body = (await response.json().catch(() => ({}))) as { error?: unknown; code?: unknown };
      return {
        status: response.status,
        code: typeof body.code === 'string' ? (body.code as HttpErrorCode) : null,
        message: typeof body.error === 'string' ? body.error : response.statusText || `HTTP ${response.status}`,
      };
    } catch {
      return null;
    }
  }

  /** Stops for good after a refusal that retrying cannot fix. */
  #giveUp(code: RoomErrorCode, reason: string, error?: HandshakeRefusal): void {
    this.#closed = true;
    this.#clearTimers();
    this.#setStatus(error ? { state: 'closed', reason, code, error } : { state: 'closed', reason, code });
    // Later, so that listeners added right after connect() hear it too.
    queueMicrotask(() => this.#handlers.error({ code, message: reason }));
  }

  #scheduleRetry(closeCode: number, error?: HandshakeRefusal): void {
    const delayMs = backoffDelay(this.#attempt, this.#options.backoff);
    this.#attempt++;
    const retryAt = Date.now() + delayMs;
    this.#setStatus(
      error
        ? { state: 'reconnecting', attempt: this.#attempt, delayMs, retryAt, closeCode, error }
        : { state: 'reconnecting', attempt: this.#attempt, delayMs, retryAt, closeCode },
    );
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#open();
    }, delayMs);
  }

  /** The browser says the network is back: skip the rest of the wait. */
  readonly #retryNow = (): void => {
    if (!this.#retryTimer) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#open();
  };

  #setStatus(status: Status): void {
    this.#status = status;
    this.#handlers.status(status);
  }

  #clearTimers(): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    if (this.#stableTimer) clearTimeout(this.#stableTimer);
    this.#retryTimer = this.#stableTimer = null;
  }
}
