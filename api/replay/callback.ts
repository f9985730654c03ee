import { Webhook } from 'standardwebhooks'

/** What Signalbox POSTs to a connector's callback (the connector SDK's `callbackRequest`). */
export interface CallbackBody {
  readonly kind: 'replay' | 'resync'
  readonly step: string
  readonly payload: unknown
  readonly exceptionId?: string
  readonly entity?: { readonly type: string; readonly id: string }
  readonly original?: { readonly traceId: string; readonly spanId: string }
}

export interface CallbackAnswer {
  /** 0 when the connector could not be reached. */
  readonly httpStatus: number
  readonly outcome?: {
    status: 'succeeded' | 'failed'
    traceId?: string
    error?: { class: string; message: string }
  }
  readonly error: string
}

/**
 * Calls a connector's callback, signed per Standard Webhooks: the replay id is the `webhook-id` and
 * so the idempotency key (a connector answers a repeated id with its earlier outcome).
 */
export async function callConnector(
  url: string,
  secret: string,
  replayId: string,
  body: CallbackBody,
): Promise<CallbackAnswer> {
  const text = JSON.stringify(body)
  const at = new Date()
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': replayId,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new Webhook(secret).sign(replayId, at, text),
      },
      body: text,
      signal: AbortSignal.timeout(60_000),
    })
    const answer = (await res.json().catch(() => null)) as
      | (CallbackAnswer['outcome'] & { error?: { message?: string } })
      | null
    if (!res.ok)
      return {
        httpStatus: res.status,
        error: answer?.error?.message ?? `the callback answered ${res.status}`,
      }
    return { httpStatus: res.status, outcome: answer ?? undefined, error: '' }
  } catch (err) {
    return {
      httpStatus: 0,
      error: `the callback could not be reached: ${err instanceof Error ? err.message : 'network error'}`,
    }
  }
}
