import { channel } from 'node:diagnostics_channel'
import {
  type Context,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions'
import { isTransient, type RetryPolicy, retryAfterMs, retryDelayMs } from '../../core/retry.ts'
import { INTEGRATION_ATTRIBUTES, RETRIED_ATTRIBUTE } from '../../core/vocabulary.ts'
import { type CallScope, withCall } from './integration.ts'

/** An answer the connector will not retry: a caller error (4xx other than 429) or retries spent. */
export class SystemCallError extends Error {
  constructor(
    readonly system: string,
    readonly status: number,
    message: string,
    readonly attempts: number,
    private readonly kind?: string,
  ) {
    super(message)
    this.name = 'SystemCallError'
  }

  /** The error's kind, for grouping exceptions: `erp.http_503`, `erp.network`, `erp.malformed_response`. */
  get errorClass(): string {
    return `${this.system}.${this.kind ?? (this.status === 0 ? 'network' : `http_${this.status}`)}`
  }
}

export type { RetryPolicy }

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 5_000 }

const propagator = new W3CTraceContextPropagator()
/**
 * Who makes the CLIENT span of each call (and injects `traceparent`): `instrumentation` leaves both to
 * `@opentelemetry/instrumentation-undici` in the app's `NodeSDK`; `sdk` makes them here; `auto` (the
 * default) asks at each call whether anything listens to undici's request channel, which is how that
 * instrumentation sees `fetch`. Never both: two spans and two `traceparent` headers per call otherwise.
 */
export type ClientSpans = 'auto' | 'sdk' | 'instrumentation'
const undiciRequests = channel('undici:request:create')
const instrumented = (mode: ClientSpans) =>
  mode === 'instrumentation' || (mode === 'auto' && undiciRequests.hasSubscribers)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Caps calls in flight to one system: ERPs throttle, and a burst of retries must not make it worse. */
class Budget {
  private active = 0
  private readonly waiting: Array<() => void> = []
  constructor(private readonly limit: number) {}
  async acquire(): Promise<() => void> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve))
    this.active++
    return () => {
      this.active--
      this.waiting.shift()?.()
    }
  }
}

export interface SystemCall {
  readonly method: string
  readonly url: string
  /** Low-cardinality span name part, e.g. `/api/salesorders`. */
  readonly route: string
  readonly body?: unknown
  readonly headers?: Record<string, string>
}

/**
 * Calls a retail system with a CLIENT span per attempt (its own, or instrumentation-undici's: see
 * `ClientSpans`), W3C trace context propagated, and retries with backoff and jitter for 429, 5xx and
 * network errors (honouring Retry-After).
 */
export class SystemClient {
  private readonly budget: Budget

  constructor(
    readonly system: string,
    private readonly tracer: Tracer,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
    concurrency = 8,
    private readonly clientSpans: ClientSpans = 'auto',
  ) {
    this.budget = new Budget(concurrency)
  }

  async call<T = unknown>(parent: Context, call: SystemCall): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const release = await this.budget.acquire()
      const scope: CallScope = {
        system: this.system,
        attempt,
        willRetry: (status) => isTransient(status) && attempt + 1 < this.retry.attempts,
        clientSpans: 0,
      }
      const callContext = withCall(parent, scope)
      // With instrumentation the call runs with the step's span active and undici's span is the CLIENT span.
      const span = instrumented(this.clientSpans)
        ? undefined
        : this.tracer.startSpan(
            `${call.method} ${call.route}`,
            { kind: SpanKind.CLIENT, attributes: clientAttributes(this.system, call, attempt) },
            callContext,
          )
      let status = 0
      let retryAfter: string | null = null
      let detail = ''
      try {
        const headers: Record<string, string> = { 'content-type': 'application/json', ...call.headers }
        if (span)
          propagator.inject(trace.setSpan(callContext, span), headers, { set: (h, k, v) => (h[k] = v) })
        const res = await context.with(callContext, () =>
          fetch(call.url, {
            method: call.method,
            headers,
            body: call.body === undefined ? undefined : JSON.stringify(call.body),
            signal: AbortSignal.timeout(10_000),
          }),
        )
        status = res.status
        span?.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status)
        retryAfter = res.headers.get('retry-after')
        const text = await res.text()
        if (res.ok) {
          let body: unknown
          try {
            body = text ? JSON.parse(text) : undefined
          } catch {
            // A 2xx that is not JSON: the system did something, but we cannot tell what. Not retried.
            fail(span, `${this.system} answered ${status} with a malformed body`, status)
            throw new SystemCallError(
              this.system,
              status,
              `${this.system} ${call.method} ${call.route}: malformed response body`,
              attempt + 1,
              'malformed_response',
            )
          }
          span?.setStatus({ code: SpanStatusCode.OK })
          span?.end()
          return body as T
        }
        detail = text.slice(0, 300)
      } catch (err) {
        if (err instanceof SystemCallError) throw err
        detail = (err as Error).message
      } finally {
        release()
      }
      const retrying = isTransient(status) && attempt + 1 < this.retry.attempts
      // A failed attempt that will be retried is not the call's outcome; the last attempt is.
      if (retrying) span?.setAttribute(RETRIED_ATTRIBUTE, true)
      fail(span, `${this.system} answered ${status || 'no response'}${detail ? `: ${detail}` : ''}`, status)
      if (!retrying) {
        throw new SystemCallError(
          this.system,
          status,
          `${this.system} ${call.method} ${call.route}: ${status || 'network error'} ${detail}`.trim(),
          attempt + 1,
        )
      }
      // Full jitter by default: a random wait up to the exponential bound spreads many workers' retries apart.
      await sleep(retryDelayMs(this.retry, attempt + 1, retryAfterMs(retryAfter)))
    }
  }
}

/** Semantic-convention names (`@opentelemetry/semantic-conventions`), as instrumentation-undici sets them. */
function clientAttributes(system: string, call: SystemCall, attempt: number) {
  const url = new URL(call.url)
  return {
    [ATTR_HTTP_REQUEST_METHOD]: call.method,
    [ATTR_URL_FULL]: call.url,
    [ATTR_SERVER_ADDRESS]: url.hostname,
    [ATTR_SERVER_PORT]: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    [INTEGRATION_ATTRIBUTES.system]: system,
    [ATTR_HTTP_REQUEST_RESEND_COUNT]: attempt,
  }
}

/** Undici's own span records its failure itself (status, `error.type`); the SDK's span is ended here. */
function fail(span: Span | undefined, message: string, status: number): void {
  if (!span) return
  if (status >= 400) span.setAttribute(ATTR_ERROR_TYPE, String(status))
  span.recordException({ name: 'SystemCallError', message })
  span.setStatus({ code: SpanStatusCode.ERROR, message })
  span.end()
}
