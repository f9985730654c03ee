import { context, type Link, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { SeverityNumber } from '@opentelemetry/api-logs'
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto'
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc'
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs'
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TraceSpan } from '../../api/routes/traces.ts'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

let sb: TestSignalbox
beforeAll(async () => {
  sb = await startSignalbox()
})
afterAll(async () => {
  await sb?.close()
})

const resource = resourceFromAttributes({
  'service.name': 'connector-order-to-cash',
  'integration.connector': 'order-to-cash',
})

/** One order's sync as a connector would trace it: a run, a call to the ERP that fails, a retry that works. */
async function exportOrderTrace(exporter: SpanExporter, orderId: string): Promise<string> {
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const tracer = provider.getTracer('signalbox-test', '1.0.0')
  const earlier = tracer.startSpan('storefront webhook')
  earlier.end()
  const link: Link = { context: earlier.spanContext(), attributes: { 'link.reason': 'replay-of' } }
  const run = tracer.startSpan('sync order', {
    kind: SpanKind.CONSUMER,
    links: [link],
    attributes: {
      'retail.order.id': orderId,
      'retail.sku': ['SKU-1', 'SKU-2'],
      'integration.flow': 'order_to_cash',
      'integration.stage': 'erp_posted',
      'order.lines': 2,
      'order.total': 99.5,
      'order.express': true,
    },
  })
  const ctx = trace.setSpan(context.active(), run)
  const failed = tracer.startSpan(
    'POST /erp/salesorders',
    { kind: SpanKind.CLIENT, attributes: { 'integration.system': 'erp', 'http.response.status_code': 503 } },
    ctx,
  )
  failed.recordException(new Error('ERP unavailable'))
  failed.setStatus({ code: SpanStatusCode.ERROR, message: 'ERP answered 503' })
  failed.end()
  const retried = tracer.startSpan(
    'POST /erp/salesorders',
    { kind: SpanKind.CLIENT, attributes: { 'integration.system': 'erp' } },
    ctx,
  )
  retried.addEvent('sales order created', { 'erp.sales_order': 'SO-ERP-77' })
  retried.setStatus({ code: SpanStatusCode.OK })
  retried.end()
  run.end()
  await provider.forceFlush()
  await provider.shutdown()
  return run.spanContext().traceId
}

async function getTrace(traceId: string) {
  const res = await fetch(`${sb.apiUrl}/api/traces/${traceId}`)
  expect(res.status).toBe(200)
  return (await res.json()) as { traceId: string; spanCount: number; spans: TraceSpan[] }
}

describe.each([
  ['http/protobuf', () => new ProtoExporter({ url: `${sb.collectorUrl}/v1/traces` })],
  ['http/json', () => new JsonExporter({ url: `${sb.collectorUrl}/v1/traces` })],
  ['grpc', () => new GrpcExporter({ url: sb.grpcUrl })],
])('the official %s exporter', (protocol, exporter) => {
  const orderId = `SO-${protocol.replace('/', '-')}`

  it('delivers spans that read back with parents, attributes, events and links intact', async () => {
    const traceId = await exportOrderTrace(exporter(), orderId)
    const t = await getTrace(traceId)
    expect(t.spanCount).toBe(3)
    const run = t.spans.find((s) => s.name === 'sync order') as TraceSpan
    const calls = t.spans.filter((s) => s.name === 'POST /erp/salesorders')
    expect(run.parentSpanId).toBeNull()
    expect(run.depth).toBe(0)
    expect(run.kind).toBe('consumer')
    expect(run.service).toBe('connector-order-to-cash')
    expect(run.scope).toEqual({ name: 'signalbox-test', version: '1.0.0' })
    for (const s of t.spans)
      expect(s.resource).toMatchObject({
        'service.name': 'connector-order-to-cash',
        'integration.connector': 'order-to-cash',
      })
    expect(run.attributes).toMatchObject({
      'retail.order.id': orderId,
      'order.lines': '2',
      'order.total': '99.5',
      'order.express': 'true',
      'retail.sku': '["SKU-1","SKU-2"]',
    })
    expect(run.integration).toEqual({
      connector: 'order-to-cash',
      flow: 'order_to_cash',
      system: '',
      stage: 'erp_posted',
    })
    expect(run.entities).toEqual([
      { type: 'order', id: orderId },
      { type: 'sku', id: 'SKU-1' },
      { type: 'sku', id: 'SKU-2' },
    ])
    expect(run.links).toHaveLength(1)
    expect(run.links[0]?.attributes).toEqual({ 'link.reason': 'replay-of' })
    expect(calls).toHaveLength(2)
    for (const c of calls) {
      expect(c.parentSpanId).toBe(run.spanId)
      expect(c.depth).toBe(1)
      expect(c.kind).toBe('client')
      expect(c.integration.system).toBe('erp')
    }
    const failed = calls.find((c) => c.status.code === 'error') as TraceSpan
    expect(failed.status.message).toBe('ERP answered 503')
    expect(failed.events[0]?.name).toBe('exception')
    expect(failed.events[0]?.attributes['exception.message']).toBe('ERP unavailable')
    const ok = calls.find((c) => c.status.code === 'ok') as TraceSpan
    expect(ok.events[0]).toMatchObject({
      name: 'sales order created',
      attributes: { 'erp.sales_order': 'SO-ERP-77' },
    })
    // Times survive to the nanosecond digits the SDK sent (hrtime → ISO with 9 fraction digits).
    expect(run.startTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/)
  })

  it('indexes the spans under the order id', async () => {
    const rows = await sb.rows<{ kind: string; name: string; trace_id: string }>(
      sql`SELECT kind, name, trace_id FROM ${table(TABLES.entityIndex)} WHERE entity_type = 'order' AND entity_id = ${orderId}`,
    )
    expect(rows.map((r) => r.name)).toEqual(['sync order'])
    const skuRows = await sb.rows(
      sql`SELECT 1 FROM ${table(TABLES.entityIndex)} WHERE entity_type = 'sku' AND entity_id = 'SKU-2'`,
    )
    expect(skuRows.length).toBeGreaterThan(0)
  })
})

describe('the official OTLP log exporter', () => {
  it('stores log records with their trace, severity, body and business keys', async () => {
    const provider = new LoggerProvider({
      resource,
      processors: [
        new SimpleLogRecordProcessor({
          exporter: new OTLPLogExporter({ url: `${sb.collectorUrl}/v1/logs` }),
        }),
      ],
    })
    const logger = provider.getLogger('signalbox-test')
    logger.emit({
      severityNumber: SeverityNumber.WARN,
      severityText: 'WARN',
      body: 'ERP throttled the sales order post; retrying',
      attributes: { 'retail.order.id': 'SO-LOG-1', 'integration.system': 'erp' },
    })
    await provider.forceFlush()
    await provider.shutdown()
    const rows = await sb.rows<{
      body: string
      severity_text: string
      severity_number: number
      service_name: string
      system: string
      entities: string[][]
    }>(
      sql`SELECT body, severity_text, severity_number, service_name, system, entities FROM ${table(TABLES.logs)}`,
    )
    expect(rows).toEqual([
      {
        body: 'ERP throttled the sales order post; retrying',
        severity_text: 'WARN',
        severity_number: SeverityNumber.WARN,
        service_name: 'connector-order-to-cash',
        system: 'erp',
        entities: [['order', 'SO-LOG-1']],
      },
    ])
  })
})
