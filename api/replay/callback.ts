import { randomUUID } from 'node:crypto'
import { Webhook } from 'standardwebhooks'

/** What Signalbox POSTs to a connector's callback (the connector SDK's `callbackRequest`). */
export interface CallbackBody {
  readonly kind: 'replay' | 'resync'
  /** The connector it is meant for: signed with the rest, so it cannot be sent on to another. */
  readonly connector: string
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

/** More than a callback's answer needs: a callback that sends more is cut off there. */
const MAX_ANSWER_BYTES = 64 * 1024

/**
 * A callback's JSON answer, read to at most MAX_ANSWER_BYTES: a callback (any URL a connector
 * registered) that streams without end costs Signalbox nothing beyond that. Null when it is not JSON
 * or is longer. The request's time limit covers the read too.
 */
async function jsonAnswer(res: Response): Promise<unknown> {
  if (!res.body) return null
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.byteLength
      if (size > MAX_ANSWER_BYTES) return null
      chunks.push(value)
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    return null
  }
}

/**
 * POSTs `text` to a callback signed per Standard Webhooks, `id` the `webhook-id`. A redirect is an
 * answer, not an instruction: Signalbox calls only the URL that was registered.
 */
function signedPost(url: string, secret: string, id: string, text: string, timeoutMs: number) {
  const at = new Date()
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, at, text),
    },
    body: text,
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  })
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
  try {
    const res = await signedPost(url, secret, replayId, text, 60_000)
    const answer = (await jsonAnswer(res).catch(() => null)) as
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

/** What a connector's callback said to a probe. */
export interface ProbeAnswer {
  readonly answered: boolean
  /** 0 when the callback could not be reached. */
  readonly httpStatus: number
  /** Why it did not count as an answer, in words an operator can act on; empty when it answered. */
  readonly error: string
}

/**
 * Asks a connector's callback whether it is there: a `{"kind":"probe"}` request signed exactly like a
 * replay, so an answer proves both that replays reach it and that it accepts Signalbox's signature.
 * It answers with 2xx (the SDK's callback says which connector it serves, which must be this one).
 */
export async function probeCallback(
  url: string,
  secret: string,
  connectorId: string,
  timeoutMs = 5_000,
): Promise<ProbeAnswer> {
  const id = `prb_${randomUUID()}`
  const text = JSON.stringify({ kind: 'probe', connector: connectorId })
  let res: Response
  try {
    res = await signedPost(url, secret, id, text, timeoutMs)
  } catch (err) {
    const timedOut = err instanceof Error && err.name === 'TimeoutError'
    return {
      answered: false,
      httpStatus: 0,
      error: timedOut
        ? `the callback did not answer within ${timeoutMs / 1000} s`
        : `the callback could not be reached: ${reason(err)}`,
    }
  }
  const answer = (await jsonAnswer(res).catch(() => null)) as {
    connector?: unknown
    error?: { message?: string }
  } | null
  if (res.status === 401)
    return {
      answered: false,
      httpStatus: 401,
      error: `the callback refused Signalbox's signature (${answer?.error?.message ?? '401'}): it verifies with another secret than SIGNALBOX_CALLBACK_SECRET`,
    }
  if (!res.ok)
    return {
      answered: false,
      httpStatus: res.status,
      error: `the callback answered ${res.status}${answer?.error?.message ? `: ${answer.error.message}` : ''}`,
    }
  if (typeof answer?.connector === 'string' && answer.connector !== connectorId)
    return {
      answered: false,
      httpStatus: res.status,
      error: `the callback serves connector '${answer.connector}', not '${connectorId}'`,
    }
  return { answered: true, httpStatus: res.status, error: '' }
}

/** Node's fetch hides the network error in `cause` (ECONNREFUSED …). */
function reason(err: unknown): string {
  if (!(err instanceof Error)) return 'network error'
  const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause
  // The Fetch standard's blocked ports (9, 6000, …): Node's fetch never calls them.
  if (cause?.message === 'bad port') return 'its port is one fetch refuses to call (a blocked port)'
  return cause?.code ?? cause?.message ?? err.message
}
