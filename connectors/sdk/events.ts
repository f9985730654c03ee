import { setTimeout as sleep } from 'node:timers/promises'
import type { Span } from '@opentelemetry/api'
import { CloudEvent, emitterFor, type Message, Mode } from 'cloudevents'
import { isTransient, type RetryPolicy, retryAfterMs, retryDelayMs } from '../../core/retry.ts'
import { untraced } from './integration.ts'

export interface BusinessEventSpec {
  /** `retail.order.erp_posted`… (docs/telemetry.md). */
  readonly type: string
  /** The order, return or SKU id. */
  readonly subject: string
  readonly data?: Record<string, unknown>
  /** CloudEvents extensions: `orderid`, `sku`, `locationid`… */
  readonly extensions?: Record<string, string>
}

/**
 * How an event the collector could not take yet is sent again: it answers 429 or 503 with a
 * Retry-After when it is behind or its store is failing, and a busy minute must not cost a connector
 * its events. Any 429, 5xx or no answer is retried, at most five more times, each after what
 * Retry-After asks (the collector asks for at most 30 s) or else an exponential backoff with jitter
 * from 250 ms; then the step fails and its exception says why.
 */
export const EVENTS_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 250, maxDelayMs: 30_000 }
/** One attempt's limit: the collector answers once the event is written, seconds at worst. */
const ATTEMPT_TIMEOUT_MS = 15_000

/** Sends business events as structured CloudEvents, each tied to the span that completed it. */
export class BusinessEvents {
  private readonly emit: ReturnType<typeof emitterFor>
  /** Events the collector acknowledged, and sends that failed (after their retries). */
  readonly counts = { sent: 0, failed: 0 }
  /** Aborted by `close`: a send waiting to retry or in flight stops at once. */
  private readonly closing = new AbortController()

  constructor(
    collectorUrl: string,
    private readonly source: string,
    private readonly connector: string,
    headers: Record<string, string> = {},
    retry: RetryPolicy = EVENTS_RETRY,
  ) {
    const { signal } = this.closing
    // The SDK builds the structured message; this transport posts it with the ingestion key, and
    // posts it again while the collector says to retry: the event's id is the same, so it is stored once.
    const transport = async (message: Message) => {
      for (let attempt = 1; ; attempt++) {
        let status = 0
        let retryAfter: string | null = null
        let failure: unknown
        try {
          // The event carries its span in the `traceparent` extension; the POST itself is not traced.
          const res = await untraced(() =>
            fetch(`${collectorUrl}/v1/events`, {
              method: 'POST',
              headers: { ...(message.headers as Record<string, string>), ...headers },
              body: message.body as string,
              signal: AbortSignal.any([signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]),
            }),
          )
          await res.arrayBuffer()
          if (res.ok) return
          status = res.status
          retryAfter = res.headers.get('retry-after')
        } catch (err) {
          failure = err
        }
        const answer = status ? `the collector answered ${status}` : 'the collector did not answer'
        if (signal.aborted || !isTransient(status) || attempt >= retry.attempts)
          throw new Error(`${answer}${attempt > 1 ? ` (${attempt} attempts)` : ''}`, { cause: failure })
        await sleep(retryDelayMs(retry, attempt, retryAfterMs(retryAfter)), undefined, { signal })
      }
    }
    this.emit = emitterFor(transport, { mode: Mode.STRUCTURED })
  }

  /** Stops: sends waiting to retry, or in flight, fail now rather than hold the process. */
  close(): void {
    this.closing.abort(new Error('the connector is closing'))
  }

  /** `id` must be stable for the unit of work, so a retried send is stored once. */
  async send(span: Span, id: string, event: BusinessEventSpec): Promise<void> {
    const ctx = span.spanContext()
    const sending = this.emit(
      new CloudEvent({
        specversion: '1.0',
        id,
        source: this.source,
        type: event.type,
        subject: event.subject,
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        data: event.data ?? {},
        traceparent: `00-${ctx.traceId}-${ctx.spanId}-0${ctx.traceFlags & 1}`,
        connector: this.connector,
        ...event.extensions,
      }),
    )
    try {
      await sending
      this.counts.sent++
    } catch (err) {
      this.counts.failed++
      throw err
    }
  }
}
