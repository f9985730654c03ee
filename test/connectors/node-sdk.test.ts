import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SpanKind, trace } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http'
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici'
import { NodeSDK, tracing } from '@opentelemetry/sdk-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TraceSpan } from '../../api/routes/traces.ts'
import { Connector, hasGlobalTracerProvider, IntegrationSpanProcessor } from '../../connectors/sdk/index.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

/**
 * A connector inside an app that runs the standard OpenTelemetry Node SDK with auto-instrumentation,
 * as a team's own service would: the connector SDK must use the app's provider, leave each `fetch`'s
 * CLIENT span and `traceparent` to instrumentation-undici (one of each per call), and Signalbox must
 * still receive the spans with their integration attributes.
 */
let sb: TestSignalbox
let sdk: NodeSDK
let erp: Server
let erpUrl = ''
const memory = new tracing.InMemorySpanExporter()
/** Each request the ERP received: the `traceparent` headers it carried (all of them). */
const received: string[][] = []
let answers: number[] = []

beforeAll(async () => {
  sb = await startSignalbox()
  erp = createServer((req, res) => {
    const raw = req.rawHeaders
    received.push(raw.filter((_, i) => i % 2 === 1 && raw[i - 1]?.toLowerCase() === 'traceparent'))
    req.resume()
    const status = answers.shift() ?? 200
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ ok: status < 300, salesOrder: 'SO-1' }))
  })
  await new Promise<void>((resolve) => erp.listen(0, '127.0.0.1', resolve))
  erpUrl = `http://127.0.0.1:${(erp.address() as AddressInfo).port}`
  // Only traces from this app: no logs or metrics exporters looking for a collector on the default port.
  process.env.OTEL_LOGS_EXPORTER = 'none'
  process.env.OTEL_METRICS_EXPORTER = 'none'
  sdk = new NodeSDK({
    serviceName: 'acme-order-sync',
    autoDetectResources: false,
    spanProcessors: [
      new IntegrationSpanProcessor(),
      new tracing.SimpleSpanProcessor(memory),
      new tracing.BatchSpanProcessor(new OTLPTraceExporter({ url: `${sb.collectorUrl}/v1/traces` }), {
        scheduledDelayMillis: 100,
      }),
    ],
    instrumentations: [new HttpInstrumentation(), new UndiciInstrumentation()],
  })
  sdk.start()
}, 60_000)

afterAll(async () => {
  await sdk?.shutdown()
  await new Promise((resolve) => erp?.close(resolve))
  await sb?.close()
})

describe('a connector under an app’s own NodeSDK with auto-instrumentation', () => {
  it('makes one CLIENT span and one traceparent per call, in one trace under the sync span', async () => {
    expect(hasGlobalTracerProvider()).toBe(true)
    const connector = new Connector({
      id: 'acme-orders',
      system: 'storefront',
      collectorUrl: sb.collectorUrl,
      apiUrl: sb.apiUrl,
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    }).step<{ orderId: string }>('post', {
      flow: 'order_to_cash',
      stage: 'erp_posted',
      entity: (o) => ({ type: 'order', id: o.orderId }),
      run: async (order, ctx) => {
        // The author's own span: it must nest under the sync span, which is active in the step.
        await trace.getTracer('acme').startActiveSpan('map order', async (span) => {
          span.end()
        })
        await ctx.call('erp', { method: 'POST', url: `${erpUrl}/api/salesorders`, route: '/api/salesorders' })
        await ctx.call('erp', {
          method: 'GET',
          url: `${erpUrl}/api/salesorders/${order.orderId}`,
          route: '/api/salesorders/{id}',
        })
        await ctx.emit({ type: 'retail.order.erp_posted', subject: order.orderId })
      },
    })
    answers = [503] // the first attempt is throttled away, the retry posts
    const outcome = await connector.run('post', { orderId: 'SO-NODESDK-1' })
    expect(outcome.status).toBe('succeeded')
    await connector.telemetry.flush()

    const spans = memory.getFinishedSpans()
    const sync = spans.find((s) => s.name === 'sync order_to_cash.post')
    expect(sync).toBeDefined()
    const syncId = sync?.spanContext().spanId
    const traceId = outcome.traceId
    expect(sync?.spanContext().traceId).toBe(traceId)
    expect(sync?.resource.attributes['service.name']).toBe('acme-order-sync')

    // Three requests reached the ERP (503, then 200, 200): one CLIENT span each, no more, and none
    // for Signalbox's own plumbing (the event, which carries its span in the traceparent extension).
    const clients = spans.filter((s) => s.kind === SpanKind.CLIENT)
    expect(received).toHaveLength(3)
    expect(clients).toHaveLength(3)
    for (const [i, headers] of received.entries()) {
      expect(headers, `request ${i}: exactly one traceparent`).toHaveLength(1)
      const [, tid, sid] = (headers[0] as string).split('-')
      const client = clients.find((c) => c.spanContext().spanId === sid)
      expect(client, `request ${i}: its traceparent names a CLIENT span`).toBeDefined()
      expect(tid).toBe(traceId)
    }
    for (const c of clients) {
      expect(c.instrumentationScope.name).toBe('@opentelemetry/instrumentation-undici')
      expect(c.spanContext().traceId).toBe(traceId)
      expect(c.parentSpanContext?.spanId).toBe(syncId)
      expect(c.attributes['integration.system']).toBe('erp')
      expect(c.attributes['integration.connector']).toBe('acme-orders')
    }
    const byStart = [...clients].sort(
      (a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1],
    )
    expect(byStart.map((c) => c.attributes['http.response.status_code'])).toEqual([503, 200, 200])
    expect(byStart.map((c) => c.attributes['http.request.resend_count'])).toEqual([0, 1, 0])
    // The throttled attempt is marked retried, so the ERP's success SLI counts the call's last attempt.
    expect(byStart.map((c) => c.attributes['signalbox.call.retried'] ?? false)).toEqual([true, false, false])

    const author = spans.find((s) => s.name === 'map order')
    expect(author?.parentSpanContext?.spanId).toBe(syncId)
    expect(author?.attributes['integration.connector']).toBe('acme-orders')
    expect(author?.attributes['retail.order.id']).toBe('SO-NODESDK-1')

    // Signalbox receives the same spans over OTLP, with the integration context it reads.
    const stored = async () => {
      const res = await fetch(`${sb.apiUrl}/api/traces/${traceId}`)
      return res.ok ? ((await res.json()) as { spans: TraceSpan[] }).spans : []
    }
    await expect.poll(async () => (await stored()).length, { timeout: 20_000 }).toBeGreaterThanOrEqual(5)
    const inSignalbox = await stored()
    const storedSync = inSignalbox.find((s) => s.spanId === syncId)
    expect(storedSync).toMatchObject({
      kind: 'consumer',
      service: 'acme-order-sync',
      integration: { connector: 'acme-orders', flow: 'order_to_cash', stage: 'erp_posted' },
      entities: [{ type: 'order', id: 'SO-NODESDK-1' }],
    })
    const storedClients = inSignalbox.filter((s) => s.kind === 'client')
    expect(storedClients).toHaveLength(3)
    for (const c of storedClients) {
      expect(c.parentSpanId).toBe(syncId)
      expect(c.integration).toMatchObject({ connector: 'acme-orders', system: 'erp' })
    }
    const events = (await (await fetch(`${sb.apiUrl}/api/events?subject=SO-NODESDK-1`)).json()) as {
      events: Array<{ traceId: string; spanId: string }>
    }
    expect(events.events).toEqual([expect.objectContaining({ traceId, spanId: syncId })])
  }, 60_000)
})
