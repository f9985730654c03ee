/** Requests to the child, answers that never throw, and exporter-like retries. Traffic goes to 127.0.0.1 only. */

export interface Answer {
  /** 0: no HTTP answer (connection refused or reset, or the time limit passed). */
  readonly status: number
  /** Milliseconds from sending to the whole answer. */
  readonly ms: number
  /** From a Retry-After header given in seconds. */
  readonly retryAfterMs?: number
  readonly body: string
  readonly error?: string
}

export const PROTOBUF = 'application/x-protobuf'
export const JSON_TYPE = 'application/json'

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number
}

function loopbackOnly(url: string): void {
  const host = new URL(url).hostname
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]')
    throw new Error(`the fault bench only talks to the local child, not ${host}`)
}

async function request(url: string, init: RequestInit, timeoutMs: number): Promise<Answer> {
  loopbackOnly(url)
  const started = performance.now()
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) })
    const body = await res.text()
    const retryAfter = Number(res.headers.get('retry-after') ?? Number.NaN)
    return {
      status: res.status,
      ms: performance.now() - started,
      retryAfterMs: Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined,
      body,
    }
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code
    return { status: 0, ms: performance.now() - started, body: '', error: cause ?? (err as Error).name }
  }
}

export function post(
  url: string,
  body: Uint8Array | string,
  type: string,
  timeoutMs = 60_000,
  headers: Record<string, string> = {},
) {
  return request(
    url,
    { method: 'POST', headers: { ...headers, 'content-type': type }, body: body as BodyInit },
    timeoutMs,
  )
}

export function get(url: string, timeoutMs = 30_000) {
  return request(url, { method: 'GET' }, timeoutMs)
}

/** What an OTLP exporter retries (the OTLP/HTTP spec's retryable statuses). */
const RETRYABLE = new Set([429, 502, 503, 504])

/**
 * Sends like an exporter: retries a retryable answer after its Retry-After (1 s when absent, at
 * most 5 s), until accepted, refused for good, `until` (performance.now()) or 50 attempts. Every
 * answer is reported to `onAnswer`; the last is returned.
 */
export async function exportLike(
  url: string,
  body: Uint8Array | string,
  type: string,
  opts: { until: number; timeoutMs?: number; onAnswer?: (a: Answer) => void },
): Promise<Answer> {
  let answer: Answer = { status: 0, ms: 0, body: '', error: 'not sent' }
  for (let attempt = 0; attempt < 50; attempt++) {
    answer = await post(url, body, type, opts.timeoutMs)
    opts.onAnswer?.(answer)
    const wait = Math.min(answer.retryAfterMs ?? 1000, 5000)
    if (!RETRYABLE.has(answer.status) || performance.now() + wait > opts.until) return answer
    await sleep(wait)
  }
  return answer
}

/** Counts of answers by status, e.g. { "200": 812, "503": 4, "0 ECONNRESET": 1 }. */
export class StatusCounts {
  readonly counts: Record<string, number> = {}
  add(a: Answer): void {
    const key = a.status === 0 ? `0 ${a.error ?? 'error'}` : String(a.status)
    this.counts[key] = (this.counts[key] ?? 0) + 1
  }
  of(status: number): number {
    return Object.entries(this.counts)
      .filter(([k]) => Number(k.split(' ')[0]) === status)
      .reduce((s, [, n]) => s + n, 0)
  }
  toString(): string {
    return (
      Object.entries(this.counts)
        .map(([k, n]) => `${k}×${n}`)
        .join(', ') || 'none'
    )
  }
}
