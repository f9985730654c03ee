import { SpanKind } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { CloudEvent, emitterFor, httpTransport, Mode } from 'cloudevents'

/**
 * One span from a service with the given resource (`service.name`, `service.version`,
 * `integration.connector`), exported by the official OTLP exporter at `atMs`. A name starting with
 * `sync ` is a connector's sync run.
 */
export async function exportSpan(
  collectorUrl: string,
  resource: Record<string, string>,
  atMs: number,
  name: string,
) {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(resource),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${collectorUrl}/v1/traces` }))],
  })
  const connector = resource['integration.connector']
  provider
    .getTracer('test')
    .startSpan(name, {
      kind: name.startsWith('sync ') ? SpanKind.CONSUMER : SpanKind.SERVER,
      startTime: atMs,
      attributes: connector ? { 'integration.connector': connector } : {},
    })
    .end(atMs + 5)
  await provider.forceFlush()
  await provider.shutdown()
}

/** A deploy pipeline's `retail.integration.deployed` event, sent with the CloudEvents SDK. */
export function sendDeployed(collectorUrl: string, integration: string, version: string, atMs: number) {
  return emitterFor(httpTransport(`${collectorUrl}/v1/events`), { mode: Mode.STRUCTURED })(
    new CloudEvent({
      specversion: '1.0',
      id: `deploy-${integration}-${version}`,
      source: 'urn:ci:deploy-pipeline',
      type: 'retail.integration.deployed',
      subject: integration,
      time: new Date(atMs).toISOString(),
      datacontenttype: 'application/json',
      data: { integration, version },
    }),
  )
}

/**
 * What the catalog tests see: order-to-cash at 1.0.0 then 1.1.0 ten minutes later, a service nobody
 * catalogued (loyalty-export), the ERP (a known system) and return-to-refund 1.8.0 deployed.
 */
export async function seedGovernance(collectorUrl: string, t0: number) {
  const otc = { 'service.name': 'connector-order-to-cash', 'integration.connector': 'order-to-cash' }
  await exportSpan(collectorUrl, { ...otc, 'service.version': '1.0.0' }, t0, 'sync order_to_cash.capture')
  await exportSpan(
    collectorUrl,
    { ...otc, 'service.version': '1.1.0' },
    t0 + 10 * 60_000,
    'sync order_to_cash.capture',
  )
  await exportSpan(
    collectorUrl,
    { 'service.name': 'loyalty-export', 'service.version': '0.3.0' },
    t0 + 60_000,
    'export points',
  )
  await exportSpan(collectorUrl, { 'service.name': 'erp' }, t0 + 60_000, 'POST /orders')
  await sendDeployed(collectorUrl, 'return-to-refund', '1.8.0', t0 + 20 * 60_000)
}
