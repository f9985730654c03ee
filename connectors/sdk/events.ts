import type { Span } from '@opentelemetry/api'
import { CloudEvent, emitterFor, httpTransport, Mode } from 'cloudevents'

export interface BusinessEventSpec {
  /** `retail.order.erp_posted`… (DESIGN.md, "Event types"). */
  readonly type: string
  /** The order, return or SKU id. */
  readonly subject: string
  readonly data?: Record<string, unknown>
  /** CloudEvents extensions: `orderid`, `sku`, `locationid`… */
  readonly extensions?: Record<string, string>
}

/** Sends business events as structured CloudEvents, each tied to the span that completed it. */
export class BusinessEvents {
  private readonly emit: ReturnType<typeof emitterFor>
  /** Events the collector acknowledged, and sends that failed (after the emitter's own error). */
  readonly counts = { sent: 0, failed: 0 }

  constructor(
    collectorUrl: string,
    private readonly source: string,
    private readonly connector: string,
  ) {
    this.emit = emitterFor(httpTransport(`${collectorUrl}/v1/events`), { mode: Mode.STRUCTURED })
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
