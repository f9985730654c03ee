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
 * its events. At most five more attempts, each after what Retry-After asks (up to 10 s) or else an
 * exponential backoff with jitter from 250 ms; then the step fails and its exception says why.
 */
export const EVENTS_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 250, maxDelayMs: 10_000 }

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Sends business events as structured CloudEvents, each tied to the span that completed it. */
export class BusinessEvents {
  private readonly emit: ReturnType<typeof emitterFor>
  /** Events the collector acknowledged, and sends that failed (after their retries). */
  readonly counts = { sent: 0, failed: 0 }

  constructor(
    collectorUrl: string,
    private readonly source: string,
    private readonly connector: string,
    headers: Record<string, string> = {},
    retry: RetryPolicy = EVENTS_RETRY,
  ) {
    // The SDK builds the structured message; this transport posts it with the ingestion key, and
    // posts it again while the collector says to retry: the event's id is the same, so it is stored once.
    const transport = async (message: Message) => {
      for (let attempt = 1; ; attempt++) {
        let status = 0
        let retryAfter: string | null = null
        try {
          // The event carries its span in the `traceparent` extension; the POST itself is not traced.
          const res = await untraced(() =>
            fetch(`${collectorUrl}/v1/events`, {
              method: 'POST',
              headers: { ...(message.headers as Record<string, string>), ...headers },
              body: message.body as string,
              signal: AbortSignal.timeout(15_000),
            }),
          )
          await res.arrayBuffer()
          if (res.ok) return
          status = res.status
          retryAfter = res.headers.get('retry-after')
        } catch (err) {
          if (attempt >= retry.attempts) throw err
        }
        if (!isTransient(status) || attempt >= retry.attempts)
          throw new Error(
            `the collector answered ${status}${attempt > 1 ? ` after ${attempt} attempts` : ''}`,
          )
        await sleep(retryDelayMs(retry, attempt, retryAfterMs(retryAfter)))
      }
    }
    this.emit = emitterFor(transport, { mode: Mode.STRUCTURED })
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
