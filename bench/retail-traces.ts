import { SpanKind } from '@opentelemetry/api'
import { resourceFromAttributes } from '@opentelemetry/resources'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { seededRandom } from '../connectors/estate/faults.ts'
import { readableSpan } from '../test/support/readable-span.ts'

/**
 * Realistic retail integration traces: one order's trip through the order-to-cash connector (a
 * webhook, the sync run, and calls to payment, OMS, ERP, WMS, CRM and notifications), with the
 * attributes real HTTP instrumentation and our connectors put on spans. Deterministic for a seed.
 */

const hex = (rand: () => number, n: number) => {
  let out = ''
  for (let i = 0; i < n; i++) out += Math.floor(rand() * 16).toString(16)
  return out
}

const resources = ['order-to-cash', 'fulfilment', 'storefront'].map((connector) =>
  resourceFromAttributes({
    'service.name': connector === 'storefront' ? 'storefront' : `connector-${connector}`,
    'service.version': '2.14.1',
    'deployment.environment.name': 'production',
    'host.name': `sync-worker-${connector}-7f9c`,
    'integration.connector': connector,
    'telemetry.sdk.language': 'nodejs',
    'telemetry.sdk.name': 'opentelemetry',
    'telemetry.sdk.version': '2.12.1',
  }),
)

const CALLS: Array<{ system: string; name: string; route: string; host: string; stage: string }> = [
  {
    system: 'payment',
    name: 'POST /v1/authorizations/{id}/capture-check',
    route: '/v1/authorizations/{id}/capture-check',
    host: 'api.payments.example',
    stage: 'payment_authorized',
  },
  {
    system: 'oms',
    name: 'POST /reservations',
    route: '/reservations',
    host: 'oms.internal',
    stage: 'inventory_reserved',
  },
  {
    system: 'erp',
    name: 'POST /api/salesorders',
    route: '/api/salesorders',
    host: 'erp.cloud.example',
    stage: 'erp_posted',
  },
  {
    system: 'wms',
    name: 'POST /outbound/releases',
    route: '/outbound/releases',
    host: 'wms.internal',
    stage: 'released',
  },
  {
    system: 'crm',
    name: 'PATCH /customers/{id}/orders',
    route: '/customers/{id}/orders',
    host: 'crm.example',
    stage: '',
  },
  { system: 'notification', name: 'POST /messages', route: '/messages', host: 'notify.internal', stage: '' },
]
const CHANNELS = ['web', 'marketplace', 'pos', 'app']

/** About 8 spans per order; `startMs` spreads orders over time like steady traffic. */
export function orderTrace(n: number, startMs: number, seed = 1): ReadableSpan[] {
  const rand = seededRandom(seed * 1_000_003 + n)
  const traceId = hex(rand, 32)
  const orderId = `SO-${(1_000_000 + n).toString()}`
  const skus = Array.from(
    { length: 1 + Math.floor(rand() * 3) },
    () => `SKU-${10_000 + Math.floor(rand() * 5000)}`,
  )
  const channel = CHANNELS[Math.floor(rand() * CHANNELS.length)] as string
  const webhookId = hex(rand, 16)
  const runId = hex(rand, 16)
  const spans: ReadableSpan[] = []
  let t = startMs
  spans.push(
    readableSpan({
      traceId,
      spanId: webhookId,
      name: 'POST /webhooks/orders',
      kind: SpanKind.SERVER,
      startMs: t,
      durationMs: 4 + rand() * 10,
      resource: resources[2],
      attributes: {
        'http.request.method': 'POST',
        'http.route': '/webhooks/orders',
        'http.response.status_code': 202,
        'retail.order.id': orderId,
        'retail.channel': channel,
        'integration.system': 'storefront',
      },
    }),
  )
  t += 5 + rand() * 20
  const runStart = t
  for (const call of CALLS) {
    const failed = rand() < 0.02
    const duration = (call.system === 'erp' ? 80 : 15) + rand() * 60
    spans.push(
      readableSpan({
        traceId,
        spanId: hex(rand, 16),
        parentSpanId: runId,
        name: call.name,
        kind: SpanKind.CLIENT,
        startMs: t,
        durationMs: duration,
        resource: resources[0],
        attributes: {
          'http.request.method': call.name.split(' ')[0] as string,
          'http.route': call.route,
          'server.address': call.host,
          'url.full': `https://${call.host}${call.route.replace('{id}', orderId)}`,
          'http.response.status_code': failed ? 503 : 200,
          'integration.system': call.system,
          ...(call.stage ? { 'integration.stage': call.stage } : {}),
          'retail.order.id': orderId,
        },
        error: failed ? `${call.system} answered 503` : undefined,
        events: failed
          ? [
              {
                name: 'exception',
                offsetMs: duration,
                attributes: {
                  'exception.type': 'HttpError',
                  'exception.message': `${call.system} answered 503 Service Unavailable`,
                },
              },
            ]
          : undefined,
      }),
    )
    t += duration + 1 + rand() * 5
  }
  spans.push(
    readableSpan({
      traceId,
      spanId: runId,
      parentSpanId: webhookId,
      name: 'sync order_to_cash',
      kind: SpanKind.CONSUMER,
      startMs: runStart,
      durationMs: t - runStart,
      resource: resources[0],
      attributes: {
        'retail.order.id': orderId,
        'retail.sku': skus,
        'retail.channel': channel,
        'retail.order.total': Math.round(rand() * 40000) / 100,
        'retail.currency': 'EUR',
        'integration.flow': 'order_to_cash',
        'messaging.system': 'kafka',
        'messaging.destination.name': 'orders.created',
      },
    }),
  )
  return spans
}
