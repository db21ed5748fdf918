import { createHmac } from 'node:crypto';

/** `Webhook-Signature`: HMAC-SHA256 of "<id>.<timestamp>.<body>" with the shared secret, hex-encoded. */
export function webhookSignature(secret: string, id: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${id}.${timestamp}.${body}`).digest('hex')}`;
}
