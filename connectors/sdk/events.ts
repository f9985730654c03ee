import type { Span } from '@opentelemetry/api'
import { CloudEvent, emitterFor, type Message, Mode } from 'cloudevents'
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

/** Sends business events as structured CloudEvents, each tied to the span that completed it. */
export class BusinessEvents {
  private readonly emit: ReturnType<typeof emitterFor>
  /** Events the collector acknowledged, and sends that failed (after the emitter's own error). */
  readonly counts = { sent: 0, failed: 0 }

  constructor(
    collectorUrl: string,
    private readonly source: string,
    private readonly connector: string,
    headers: Record<string, string> = {},
  ) {
    // The SDK builds the structured message; this transport posts it with the ingestion key.
    const transport = async (message: Message) => {
      // The event carries its span in the `traceparent` extension; the POST itself is not traced.
      const res = await untraced(() =>
        fetch(`${collectorUrl}/v1/events`, {
          method: 'POST',
          headers: { ...(message.headers as Record<string, string>), ...headers },
          body: message.body as string,
        }),
      )
      await res.arrayBuffer()
      if (!res.ok) throw new Error(`the collector answered ${res.status}`)
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
