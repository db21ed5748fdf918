/** What a webhook endpoint can receive (docs/webhooks.md); WEBHOOK_EVENTS picks among them. */
export const WEBHOOK_EVENT_TYPES = [
  'document.created',
  'document.changed',
  'document.deleted',
  'member.joined',
  'member.left',
  'chat.message',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface WebhookEvent {
  /** A UUID; the same in every retry of a delivery, for receivers to de-duplicate. */
  id: string;
  type: WebhookEventType;
  /** When it happened (ISO 8601). */
  time: string;
  data: Record<string, unknown>;
}
