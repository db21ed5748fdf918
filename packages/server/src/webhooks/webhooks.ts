import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type * as Y from 'yjs';
import type { RoomHooks } from '../rooms/hooks.js';
import type { DocumentInfo, Storage } from '../storage/storage.js';
import { ChangeDebouncer, DEBOUNCE } from './change-debouncer.js';
import { documentVersion } from './document-version.js';
import { DEFAULT_DELIVERY_POLICY, WebhookEndpoint, type DeliveryOutcome, type DeliveryPolicy } from './endpoint.js';
import type { WebhookEvent, WebhookEventType } from './events.js';

export interface WebhooksOptions {
  urls: readonly string[];
  secret: string;
  /** Only these are sent; empty: all of them. */
  events: readonly WebhookEventType[];
  /** Whether a document is stored, to tell the first edit of a new room (which creates its document) from others. */
  documentExists: (room: string) => Promise<boolean>;
  log: Logger;
  counted?: (outcome: DeliveryOutcome) => void;
  delivery?: Partial<DeliveryPolicy>;
}

const MAX_REMEMBERED = 100_000;

/**
 * Signed webhooks (docs/webhooks.md): events from the rooms this node serves and from the
 * document API, queued per endpoint and delivered in the background, so that an endpoint that
 * is slow or down costs memory up to its queue's bound and never a room's time.
 */
export class Webhooks {
  readonly #endpoints: WebhookEndpoint[];
  readonly #wanted: ReadonlySet<WebhookEventType> | null;
  readonly #changes: ChangeDebouncer;
  readonly #options: WebhooksOptions;
  /** Rooms found to have a stored document, or announced as created: only a new room's first edits cost a lookup. */
  readonly #stored = new Set<string>();

  constructor(options: WebhooksOptions) {
    this.#options = options;
    const policy = { ...DEFAULT_DELIVERY_POLICY, ...options.delivery };
    const counted = options.counted ?? (() => {});
    this.#endpoints = options.urls.map((url) => new WebhookEndpoint({ url, secret: options.secret, policy, log: options.log, counted }));
    this.#wanted = options.events.length > 0 ? new Set(options.events) : null;
    this.#changes = new ChangeDebouncer(DEBOUNCE, (room, doc) => this.#announceChange(room, doc));
  }

  /** The app's hooks with the webhook events added; the app's run as before, whatever the webhooks do. */
  around(app: RoomHooks): RoomHooks {
    return {
      onChange: (event) => {
        this.#changed(event.room, event.doc);
        return app.onChange?.(event);
      },
      onJoin: (event) => {
        this.emit('member.joined', { room: event.room, member: event.member });
        return app.onJoin?.(event);
      },
      onLeave: (event) => {
        this.emit('member.left', { room: event.room, member: event.member });
        return app.onLeave?.(event);
      },
      onChat: (event) => {
        this.emit('chat.message', { room: event.room, message: event.message });
        return app.onChat?.(event);
      },
    };
  }

  /** Storage whose createDocument announces the document it created (for the document API). */
  announcingCreation(storage: Storage): Storage {
    const created = (document: DocumentInfo): void => this.emit('document.created', { room: document.name, title: document.title });
    return new Proxy(storage, {
      get(target, key) {
        if (key === 'createDocument')
          return async (name: string, title: string) => {
            const document = await target.createDocument(name, title);
            created(document);
            return document;
          };
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  documentDeleted(room: string): void {
    this.#changes.forget(room);
    this.#stored.delete(room);
    this.emit('document.deleted', { room });
  }

  emit(type: WebhookEventType, data: Record<string, unknown>): void {
    if (!this.#wants(type)) return;
    const event: WebhookEvent = { id: randomUUID(), type, time: new Date().toISOString(), data };
    const body = JSON.stringify(event);
    for (const endpoint of this.#endpoints) endpoint.enqueue(event, body);
  }

  /** Stops delivering: what is queued or in flight is abandoned (and counted in a log line). */
  close(): void {
    this.#changes.stop();
    for (const endpoint of this.#endpoints) endpoint.stop();
  }

  #wants(type: WebhookEventType): boolean {
    return this.#wanted === null || this.#wanted.has(type);
  }

  #changed(room: string, doc: Y.Doc): void {
    if (!this.#changes.changed(room, doc) || !this.#wants('document.created') || this.#stored.has(room)) return;
    if (this.#stored.size >= MAX_REMEMBERED) this.#stored.clear();
    this.#stored.add(room);
    // A room without a stored document gets one with its first stored edit; this edit is being stored now.
    this.#options.documentExists(room).then(
      (exists) => {
        if (!exists) this.emit('document.created', { room, title: room });
      },
      (error: unknown) => {
        this.#stored.delete(room);
        this.#options.log.warn({ err: error, room }, 'webhooks: could not tell whether the document is new');
      },
    );
  }

  #announceChange(room: string, doc: Y.Doc): void {
    if (this.#wants('document.changed')) this.emit('document.changed', { room, ...documentVersion(doc) });
  }
}
