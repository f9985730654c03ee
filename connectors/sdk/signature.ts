import { Webhook, WebhookVerificationError } from 'standardwebhooks'

/**
 * Standard Webhooks signatures for connector callbacks: HMAC-SHA256 over `id.timestamp.body`,
 * base64, `v1,` prefix; a 5-minute timestamp tolerance and a constant-time comparison (both from the
 * `standardwebhooks` library). Secrets are base64, optionally with the `whsec_` prefix.
 */
export interface CallbackHeaders {
  readonly 'webhook-id': string
  readonly 'webhook-timestamp': string
  readonly 'webhook-signature': string
}

export function signCallback(
  secret: string,
  id: string,
  body: string,
  at: Date = new Date(),
): CallbackHeaders {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, body),
  }
}

export { WebhookVerificationError }

/**
 * Verifies with any of the configured secrets, so a secret can be rotated without a window where
 * callbacks fail: configure the new one beside the old, switch the signer, then drop the old.
 */
export class CallbackVerifier {
  private readonly hooks: Webhook[]

  constructor(secrets: readonly string[]) {
    if (secrets.length === 0 || secrets.length > 2)
      throw new Error('configure one callback secret, or two while rotating')
    this.hooks = secrets.map((s) => new Webhook(s))
  }

  /** Throws WebhookVerificationError when no secret matches, or the timestamp is missing or stale. */
  verify(body: string, headers: Record<string, string | undefined>): void {
    const required = {
      'webhook-id': headers['webhook-id'] ?? '',
      'webhook-timestamp': headers['webhook-timestamp'] ?? '',
      'webhook-signature': headers['webhook-signature'] ?? '',
    }
    let last: unknown
    for (const hook of this.hooks) {
      try {
        hook.verify(body, required, { jsonParse: false })
        return
      } catch (err) {
        last = err
      }
    }
    throw last instanceof WebhookVerificationError
      ? last
      : new WebhookVerificationError('No matching signature found')
  }
}
