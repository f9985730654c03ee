import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiApp } from '../../api/app.ts'
import { declaredPolicies } from '../../api/policy.ts'
import { createToken } from '../../auth/tokens.ts'
import { appendDelivery, appendTransitions, saveInstances, saveSilence } from '../../store/queries/alerts.ts'
import { appendReplay } from '../../store/queries/replays.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'
import { until } from '../support/until.ts'

/*
 * Every scope dimension holds on everything a read returns. Data is seeded on both sides of three
 * scopes (a channel, a flow, a system); each read route of the app, found from the app itself, is
 * called with a token scoped each way. What lies outside a token's scope must never appear in any
 * answer, and what lies inside must appear where the route shows it, so the walk cannot pass by
 * showing nothing.
 *
 *   SO-WEB-1     order, came in through the web channel, touched by storefront        trace a1…
 *   SO-KIOSK-1   order, came in through the kiosk channel, touched by instore         trace b2…
 *   RT-KIOSK-1   return of SO-WEB-1, through the kiosk, touched by instore            trace d4…
 *   SKU-ERP-1    stock at erp, published to web and kiosk                              trace c3…
 *   SKU-SHOP-1   stock changed by storefront
 */

const T = { web: 'a1'.repeat(16), kiosk: 'b2'.repeat(16), sku: 'c3'.repeat(16), ret: 'd4'.repeat(16) }
const HOUR = 3_600_000
/** The business day (UTC) the seeded events fall on: two hours ago. */
const SEEDED_DAY = new Date(Date.now() - 2 * HOUR).toISOString().slice(0, 10)

type Who = 'channel' | 'flow' | 'system'
const SCOPES: Record<Who, Record<string, string[]>> = {
  channel: { channels: ['web'] },
  flow: { flows: ['order_to_cash'] },
  system: { systems: ['storefront'] },
}

/** What must never appear in any answer to each token (matched without regard to case). */
const OUTSIDE: Record<Who, string[]> = {
  channel: ['kiosk', T.kiosk, T.ret, 'rpl-2', 'rpl-4', 'job-admin', 'PO-WMS-1'],
  flow: [
    'PO-WMS-1',
    'RT-KIOSK-1',
    'SKU-ERP-1',
    'SKU-SHOP-1',
    T.sku,
    T.ret,
    'returns-conn',
    'stock-conn',
    'refund_in_time',
    'return_to_refund',
    'inventory_sync',
    'alert-returns',
    'silence-returns',
    'rpl-3',
    'rpl-4',
    'job-admin',
  ],
  system: [
    'PO-WMS-1',
    'SO-KIOSK-1',
    'RT-KIOSK-1',
    'SKU-ERP-1',
    T.kiosk,
    T.sku,
    T.ret,
    'instore-conn',
    'stock-conn',
    'returns-conn',
    'erp_calls_succeed',
    'alert-erp',
    'silence-erp',
    'rpl-2',
    'rpl-3',
    'rpl-4',
    'job-admin',
    'erp-daily-export',
    'RUN-WALK-1',
  ],
}

let sb: TestSignalbox
let admin: string
const tokens = {} as Record<Who, string>
/** Each token's own bulk replay job (made through the api, so it carries the token's scope). */
const jobs = {} as Record<Who, string>
/** Seeded exception ids by entity id, and the job made without a scope. */
const exceptions = new Map<string, string>()
let adminJob = ''

const call = (token: string, path: string, json?: unknown) =>
  fetch(`${sb.apiUrl}${path}`, {
    method: json === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: json === undefined ? undefined : JSON.stringify(json),
  })

const span = (trace: string, service: string, attrs: Record<string, string>) => {
  const now = BigInt(Date.now() - HOUR) * 1_000_000n
  return {
    resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
    scopeSpans: [
      {
        spans: [
          {
            traceId: trace,
            spanId: trace.slice(0, 16),
            name: `sync ${service}`,
            kind: 2,
            startTimeUnixNano: `${now}`,
            endTimeUnixNano: `${now + 5_000_000n}`,
            attributes: Object.entries(attrs).map(([key, v]) => ({ key, value: { stringValue: v } })),
          },
        ],
      },
    ],
  }
}

async function seed() {
  const time = new Date(Date.now() - 2 * HOUR).toISOString()
  const event = (id: string, type: string, subject: string, system: string, data: object, ext = {}) => ({
    specversion: '1.0',
    id,
    source: `urn:${system}`,
    type,
    subject,
    time,
    system,
    ...ext,
    datacontenttype: 'application/json',
    data,
  })
  const stock = { location: 'L1', on_hand: 5, available: 5, change: 1 }
  const events = [
    event('e1', 'retail.order.created', 'SO-WEB-1', 'storefront', { orderId: 'SO-WEB-1', channel: 'web' }),
    event('e2', 'retail.order.created', 'SO-KIOSK-1', 'instore', { orderId: 'SO-KIOSK-1', channel: 'kiosk' }),
    // A run of the ERP's export (config/batches.yaml): batch jobs are seen by the system they run in.
    event('e-batch', 'retail.batch.started', 'RUN-WALK-1', 'erp', {
      job: 'erp-daily-export',
      runId: 'RUN-WALK-1',
      businessDay: time.slice(0, 10),
      rows: 0,
      rejected: 0,
    }),
    event(
      'e3',
      'retail.return.received',
      'RT-KIOSK-1',
      'instore',
      { channel: 'kiosk' },
      { orderid: 'SO-WEB-1' },
    ),
    event('e4', 'retail.inventory.adjusted', 'SKU-ERP-1', 'erp', stock, { locationid: 'L1' }),
    event(
      'e5',
      'retail.inventory.published',
      'SKU-ERP-1',
      'erp',
      { channel: 'web', quantity: 5, change: 1 },
      {
        locationid: 'L1',
      },
    ),
    event(
      'e6',
      'retail.inventory.published',
      'SKU-ERP-1',
      'erp',
      { channel: 'kiosk', quantity: 7, change: 1 },
      {
        locationid: 'L1',
      },
    ),
    event('e7', 'retail.inventory.adjusted', 'SKU-SHOP-1', 'storefront', stock, { locationid: 'L1' }),
    // SKU-ERP-1's price, then told to web and to the kiosk at other prices: a conflict on each channel.
    event(
      'e8',
      'retail.price.changed',
      'SKU-ERP-1',
      'erp',
      { sku: 'SKU-ERP-1', priceList: 'retail', price: 10, currency: 'EUR', effectiveAt: time },
      { sku: 'SKU-ERP-1' },
    ),
    // PO-WMS-1: a goods receipt counted short at the warehouse; no channel, no scoped flow or system.
    event('e11', 'retail.purchase_order.received', 'PO-WMS-1', 'wms', {
      receipt: 'GR-WMS-1',
      lines: [{ sku: 'SKU-PO-1', ordered: 10, shipped: 10, received: 7 }],
    }),
    ...(['web', 'kiosk'] as const).map((channel, i) =>
      event(
        `e${9 + i}`,
        'retail.price.published',
        'SKU-ERP-1',
        'erp',
        { sku: 'SKU-ERP-1', priceList: 'retail', price: 8 + i },
        { sku: 'SKU-ERP-1', channel },
      ),
    ),
  ]
  const posted = await fetch(`${sb.collectorUrl}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/cloudevents-batch+json' },
    body: JSON.stringify(events),
  })
  expect(posted.status).toBe(200)
  const traces = await fetch(`${sb.collectorUrl}/v1/traces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      resourceSpans: [
        span(T.web, 'storefront', {
          'retail.order.id': 'SO-WEB-1',
          'integration.flow': 'order_to_cash',
          'integration.system': 'storefront',
        }),
        span(T.kiosk, 'instore', {
          'retail.order.id': 'SO-KIOSK-1',
          'integration.flow': 'order_to_cash',
          'integration.system': 'instore',
        }),
        // The kiosk order's call from instore to erp failed: a row of the map's failed calls.
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'erp' } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: T.kiosk,
                  spanId: 'e5'.repeat(8),
                  parentSpanId: T.kiosk.slice(0, 16),
                  name: 'post order',
                  kind: 2,
                  startTimeUnixNano: `${BigInt(Date.now() - HOUR) * 1_000_000n + 1_000_000n}`,
                  endTimeUnixNano: `${BigInt(Date.now() - HOUR) * 1_000_000n + 2_000_000n}`,
                  status: { code: 2, message: 'refused' },
                },
              ],
            },
          ],
        },
        span(T.sku, 'erp', {
          'retail.sku': 'SKU-ERP-1',
          'integration.flow': 'inventory_sync',
          'integration.system': 'erp',
        }),
        span(T.ret, 'instore', {
          'retail.return.id': 'RT-KIOSK-1',
          'integration.flow': 'return_to_refund',
          'integration.system': 'instore',
        }),
      ],
    }),
  })
  expect(traces.status).toBe(200)

  const connectors = [
    ['web-conn', 'storefront', 'order_to_cash', { type: 'order', id: 'SO-WEB-1' }, T.web],
    ['instore-conn', 'instore', 'order_to_cash', { type: 'order', id: 'SO-KIOSK-1' }, T.kiosk],
    ['stock-conn', 'erp', 'inventory_sync', { type: 'sku', id: 'SKU-ERP-1' }, T.sku],
    ['returns-conn', 'instore', 'return_to_refund', { type: 'return', id: 'RT-KIOSK-1' }, T.ret],
  ] as const
  for (const [i, [id, system, flow, entity, traceId]] of connectors.entries()) {
    const registered = await call(admin, '/api/connectors', {
      id,
      system,
      flows: [flow],
      callbackUrl: 'http://127.0.0.1:9/callback',
    })
    expect(registered.status).toBe(201)
    const reported = await call(admin, '/api/exceptions', {
      connector: id,
      flow,
      step: 'sync',
      entity,
      payload: {},
      error: { class: 'http_503', message: 'unavailable' },
      attempts: 1,
      traceId,
      spanId: traceId.slice(0, 16),
    })
    expect(reported.status).toBe(201)
    const exception = ((await reported.json()) as { id: string }).id
    exceptions.set(entity.id, exception)
    await appendReplay(sb.store, {
      atMs: Date.now() - HOUR,
      id: `rpl-${i + 1}`,
      kind: 'replay',
      exceptionId: exception,
      jobId: '',
      connector: id,
      step: 'sync',
      entity,
      status: 'failed',
      requestedBy: 'walk',
      reason: 'seeded',
      payloadDiff: '[]',
      approvedBy: '',
      httpStatus: 503,
      error: 'unavailable',
      originalTraceId: traceId,
      traceId: '',
    })
  }

  const now = Date.now()
  const alerts = [
    ['alert-orders', { slo: 'order_reaches_erp', flow: 'order_to_cash' }],
    ['alert-returns', { slo: 'refund_in_time', flow: 'return_to_refund' }],
    ['alert-kiosk', { channel: 'kiosk' }],
    ['alert-erp', { system: 'erp' }],
    // About one connector only (connector_down, exceptions piling up): judged by the connector.
    ['alert-stock-conn', { connector: 'stock-conn' }],
  ] as const
  await saveInstances(
    sb.store,
    alerts.map(([id, labels]) => ({
      id,
      rule: id,
      severity: 'page',
      labels,
      state: 'firing',
      reason: 'seeded',
      value: 1,
      sinceMs: now - HOUR,
      firedAtMs: now - HOUR,
      evaluatedAtMs: now,
      suppressedBy: '',
      ackedBy: '',
      ackedAtMs: null,
    })),
    now,
  )
  await appendTransitions(
    sb.store,
    alerts.map(([id, labels]) => ({
      atMs: now - HOUR,
      id,
      rule: id,
      severity: 'page',
      labels,
      from: 'pending',
      to: 'firing',
      reason: 'seeded',
      value: 1,
    })),
  )
  for (const [id] of alerts)
    await appendDelivery(sb.store, {
      atMs: now - HOUR,
      notificationId: `ntf-${id}`,
      groupKey: id,
      receiver: 'oncall',
      channel: 'webhook',
      status: 'firing',
      alertIds: [id],
      attempt: 1,
      outcome: 'delivered',
      httpStatus: 200,
      error: '',
    })
  const silences = [
    ['silence-orders', 'flow', 'order_to_cash'],
    ['silence-returns', 'flow', 'return_to_refund'],
    ['silence-kiosk', 'channel', 'kiosk'],
    ['silence-erp', 'system', 'erp'],
  ] as const
  for (const [id, name, value] of silences)
    await saveSilence(
      sb.store,
      {
        id,
        matchers: [{ name, op: '=', value }],
        startsAtMs: now - HOUR,
        endsAtMs: now + HOUR,
        createdBy: 'walk',
        comment: 'seeded',
        createdAtMs: now - HOUR,
      },
      now,
    )
  // A job made without a scope: no scoped token sees it.
  const job = await call(admin, '/api/exceptions/replay', {
    filter: { connector: 'none' },
    reason: 'job-admin',
  })
  expect(job.status).toBe(201)
  adminJob = ((await job.json()) as { job: { id: string } }).job.id
  await call(admin, `/api/replay-jobs/${adminJob}/cancel`, {})
  OUTSIDE.channel.push(adminJob)
  OUTSIDE.flow.push(adminJob)
  OUTSIDE.system.push(adminJob)
}

beforeAll(async () => {
  sb = await startSignalbox({ SIGNALBOX_AUTH: 'tokens' })
  admin = (await createToken(sb.store, { name: 'root', kind: 'personal', role: 'admin', createdBy: 'test' }))
    .token
  await seed()
  for (const who of Object.keys(SCOPES) as Who[]) {
    tokens[who] = (
      await createToken(sb.store, {
        name: `walk ${who}`,
        kind: 'personal',
        role: 'admin',
        createdBy: 'test',
        scope: SCOPES[who],
      })
    ).token
    const made = await call(tokens[who], '/api/exceptions/replay', {
      filter: { connector: 'none' },
      reason: 'w',
    })
    expect(made.status).toBe(201)
    jobs[who] = ((await made.json()) as { job: { id: string } }).job.id
  }
  // Everything is in: the stuck list (the flow state) and the trace index answer for the last ones.
  await until(
    () => call(admin, '/api/flows/order_to_cash/stuck').then((r) => r.text()),
    (body) => body.includes('SO-WEB-1') && body.includes('SO-KIOSK-1'),
    { what: 'both orders stuck' },
  )
  for (const trace of Object.values(T))
    await until(
      () => call(admin, `/api/traces/${trace}`).then((r) => r.status),
      (s) => s === 200,
      { what: `trace ${trace}` },
    )
})
afterAll(async () => {
  await sb?.close()
})

const ALL: Who[] = ['channel', 'flow', 'system']
/** A request in the walk: where, and which tokens must find what in its answer (others: refused, or nothing). */
interface Visit {
  readonly path: string
  readonly json?: unknown
  /** Strings this token must find in the answer; a token left out must get no 2xx with data of its own. */
  readonly finds?: Partial<Record<Who, string[]>>
  /** Tokens that must be refused (403). */
  readonly refused?: readonly Who[]
}
const each = (strings: string[]): Partial<Record<Who, string[]>> =>
  Object.fromEntries(ALL.map((w) => [w, strings]))

/** Every read route of the app, with the requests that walk it. A new read route must be added here. */
const WALK: Record<string, (who: Who) => Visit[]> = {
  'GET /': () => [{ path: '/' }],
  'GET /assets/*': () => [{ path: '/assets/none.js' }],
  'GET /api/health': () => [{ path: '/api/health' }],
  'GET /api/openapi.json': () => [{ path: '/api/openapi.json' }],
  'GET /api/reference': () => [{ path: '/api/reference' }],
  'GET /auth/login': () => [{ path: '/auth/login' }],
  'GET /auth/callback': () => [{ path: '/auth/callback' }],
  'GET /auth/session': () => [{ path: '/auth/session' }],
  'GET /api/tokens': () => [{ path: '/api/tokens', refused: ALL }],
  'GET /api/audit': () => [{ path: '/api/audit', refused: ALL }],
  'GET /api/flows': () => [{ path: '/api/flows', finds: each(['order_to_cash']) }],
  'GET /api/flows/:flow/stuck': () => [
    { path: '/api/flows/order_to_cash/stuck', finds: each(['SO-WEB-1']) },
    { path: '/api/flows/order_to_cash/stuck?channel=kiosk' },
    { path: '/api/flows/inventory_sync/stuck', refused: ['flow'] },
  ],
  'GET /api/flows/:flow/entities': () => [
    { path: '/api/flows/order_to_cash/entities?stage=captured', finds: each(['SO-WEB-1']) },
    { path: '/api/flows/order_to_cash/entities?stage=captured&system=instore' },
    { path: '/api/flows/return_to_refund/entities?stage=received', refused: ['flow'] },
  ],
  'GET /api/flows/:flow/metrics': () => [
    { path: '/api/flows/order_to_cash/metrics', finds: each(['"web"']) },
    { path: '/api/flows/inventory_sync/metrics', refused: ['flow'] },
  ],
  'GET /api/events': () => [
    { path: '/api/events', finds: each(['SO-WEB-1']) },
    { path: '/api/events?subject=SO-WEB-1', finds: each(['SO-WEB-1']) },
    { path: '/api/events?subject=SO-KIOSK-1', finds: { flow: ['SO-KIOSK-1'] } },
    { path: '/api/events?subject=RT-KIOSK-1' },
    {
      path: '/api/events?type=retail.inventory.*',
      finds: { channel: ['"web"', 'SKU-SHOP-1'], system: ['SKU-SHOP-1'] },
    },
  ],
  'GET /api/search': () => [
    { path: '/api/search?q=SO-', finds: each(['SO-WEB-1']) },
    { path: '/api/search?q=RT-' },
    { path: '/api/search?q=SKU-', finds: { channel: ['SKU-ERP-1', 'SKU-SHOP-1'], system: ['SKU-SHOP-1'] } },
    ...Object.values(T).map((t) => ({
      path: `/api/search?q=${t}`,
      finds: t === T.web ? each([t]) : t === T.kiosk ? { flow: [t] } : t === T.sku ? { channel: [t] } : {},
    })),
  ],
  'GET /api/traces/:traceId': () => [
    { path: `/api/traces/${T.web}`, finds: each([T.web]) },
    { path: `/api/traces/${T.kiosk}`, finds: { flow: [T.kiosk] }, refused: ['channel', 'system'] },
    { path: `/api/traces/${T.sku}`, finds: { channel: [T.sku] }, refused: ['flow', 'system'] },
    { path: `/api/traces/${T.ret}`, refused: ALL },
  ],
  'GET /api/orders/:id/lifecycle': () => [
    { path: '/api/orders/SO-WEB-1/lifecycle', finds: each(['SO-WEB-1']) },
    {
      path: '/api/orders/SO-KIOSK-1/lifecycle',
      finds: { flow: ['SO-KIOSK-1'] },
      refused: ['channel', 'system'],
    },
  ],
  'GET /api/entities/:type/:id/lifecycle': () => [
    { path: '/api/entities/order/SO-WEB-1/lifecycle', finds: each(['SO-WEB-1']) },
    {
      path: '/api/entities/order/SO-KIOSK-1/lifecycle',
      finds: { flow: ['SO-KIOSK-1'] },
      refused: ['channel', 'system'],
    },
    { path: '/api/entities/return/RT-KIOSK-1/lifecycle', refused: ALL },
    { path: '/api/entities/purchase_order/PO-WMS-1/lifecycle', refused: ALL },
    {
      path: '/api/entities/sku/SKU-ERP-1/lifecycle',
      finds: { channel: ['SKU-ERP-1'] },
      refused: ['flow', 'system'],
    },
  ],
  'GET /api/returns/:id/lifecycle': () => [{ path: '/api/returns/RT-KIOSK-1/lifecycle', refused: ALL }],
  'GET /api/inventory/:sku': () => [
    {
      path: '/api/inventory/SKU-ERP-1',
      finds: { channel: ['SKU-ERP-1', '"web"'] },
      refused: ['flow', 'system'],
    },
    {
      path: '/api/inventory/SKU-SHOP-1',
      finds: { channel: ['SKU-SHOP-1'], system: ['SKU-SHOP-1'] },
      refused: ['flow'],
    },
  ],
  // SKU-ERP-1 is told wrong prices on web and on the kiosk: the web token sees web's conflict only.
  // PO-WMS-1's receipt is short: no scoped token sees it (see OUTSIDE).
  'GET /api/purchase-orders/discrepancies': () => [{ path: '/api/purchase-orders/discrepancies' }],
  'GET /api/prices/conflicts': () => [
    { path: '/api/prices/conflicts', finds: { channel: ['SKU-ERP-1', '"web"', 'price_mismatch'] } },
  ],
  'GET /api/prices/:sku': () => [
    {
      path: '/api/prices/SKU-ERP-1',
      finds: { channel: ['SKU-ERP-1', '"web"'] },
      refused: ['flow', 'system'],
    },
  ],
  'GET /api/batches': () => [
    { path: '/api/batches', finds: { channel: ['erp-daily-export'], flow: ['erp-daily-export'] } },
  ],
  'GET /api/batches/:job/runs': () => [
    { path: '/api/batches/erp-daily-export/runs', finds: { channel: ['RUN-WALK-1'], flow: ['RUN-WALK-1'] } },
  ],
  // Both orders were captured and never posted: each token finds its own unmatched, never the other.
  'GET /api/reconciliation': () => [
    { path: `/api/reconciliation?day=${SEEDED_DAY}`, finds: each(['SO-WEB-1']) },
    { path: `/api/reconciliation?day=${SEEDED_DAY}&channel=kiosk` },
  ],
  'GET /api/exceptions': () => [{ path: '/api/exceptions', finds: each(['SO-WEB-1', 'web-conn']) }],
  'GET /api/replays': () => [{ path: '/api/replays', finds: each(['rpl-1']) }],
  'GET /api/replay-jobs': (who) => [{ path: '/api/replay-jobs', finds: { [who]: [jobs[who]] } }],
  'GET /api/replay-jobs/:id': (who) => [
    { path: `/api/replay-jobs/${jobs[who]}`, finds: { [who]: [jobs[who]] } },
    ...ALL.filter((w) => w !== who).map((w) => ({ path: `/api/replay-jobs/${jobs[w]}`, refused: [who] })),
  ],
  'GET /api/slos': () => [
    { path: '/api/slos', finds: each(['order_reaches_erp']) },
    { path: '/api/slos?format=openslo', finds: each(['name: order-reaches-erp']) },
  ],
  'GET /api/slos/:id': () => [
    { path: '/api/slos/order_reaches_erp', finds: each(['SO-WEB-1']) },
    {
      path: '/api/slos/refund_in_time',
      finds: { channel: ['refund_in_time'], system: ['refund_in_time'] },
      refused: ['flow'],
    },
    {
      path: '/api/slos/stock_reaches_channels',
      finds: { flow: ['stock_reaches_channels'] },
      refused: ['channel'],
    },
    {
      path: '/api/slos/erp_calls_succeed',
      finds: { channel: ['erp_calls_succeed'], flow: ['erp_calls_succeed'] },
      refused: ['system'],
    },
  ],
  'GET /api/alerts': () => [{ path: '/api/alerts', finds: each(['alert-orders']) }],
  'GET /api/alerts/:id': () => [
    { path: '/api/alerts/alert-orders', finds: each(['alert-orders']) },
    {
      path: '/api/alerts/alert-kiosk',
      finds: { flow: ['alert-kiosk'], system: ['alert-kiosk'] },
      refused: ['channel'],
    },
    {
      path: '/api/alerts/alert-returns',
      finds: { channel: ['alert-returns'], system: ['alert-returns'] },
      refused: ['flow'],
    },
    {
      path: '/api/alerts/alert-erp',
      finds: { channel: ['alert-erp'], flow: ['alert-erp'] },
      refused: ['system'],
    },
    {
      path: '/api/alerts/alert-stock-conn',
      finds: { channel: ['alert-stock-conn'] },
      refused: ['flow', 'system'],
    },
  ],
  'GET /api/silences': () => [
    { path: '/api/silences', finds: each(['silence-orders']) },
    { path: '/api/silences?format=alertmanager', finds: each(['silence-orders']) },
  ],
  // Every SLO is in it: for tokens without a scope (a Prometheus scraper's).
  'GET /metrics': () => [{ path: '/metrics', refused: ALL }],
  // Contracts are schemas, no business data: any token reads them. Violations carry examples of
  // events from any source, so only unscoped tokens read those.
  'GET /api/event-types': () => [{ path: '/api/event-types', finds: each(['retail.order.created']) }],
  'GET /api/event-types/:type/diff': () => [
    { path: '/api/event-types/retail.order.created/diff?from=1&to=1', finds: each(['retail.order.created']) },
  ],
  'GET /api/event-contracts/violations': () => [{ path: '/api/event-contracts/violations', refused: ALL }],
  // An unmapped webhook names no flow, channel or system a scope could hold it to: unscoped only.
  'GET /api/webhooks/unmapped': () => [{ path: '/api/webhooks/unmapped', refused: ALL }],
  'GET /api/notifications': () => [{ path: '/api/notifications', finds: each(['ntf-alert-orders']) }],
  // Receiver and variable names from alerts.yaml only: nothing of any flow, channel or system.
  'GET /api/notification-channels': () => [{ path: '/api/notification-channels' }],
  'GET /api/connectors': () => [{ path: '/api/connectors', finds: each(['web-conn']) }],
  // The shipped catalog: a flow sees the integrations carrying it; the channel dimension does not
  // apply to integrations; the storefront system runs none of the catalog's connectors here.
  'GET /api/catalog': () => [
    { path: '/api/catalog', finds: { channel: ['order-to-cash'], flow: ['order-to-cash'] } },
  ],
  'GET /api/catalog/:id': () => [
    { path: '/api/catalog/order-to-cash', finds: { channel: ['order-to-cash'], flow: ['order-to-cash'] } },
    { path: '/api/catalog/return-to-refund', finds: { channel: ['return-to-refund'] } },
  ],
  'GET /api/changes': () => [{ path: '/api/changes' }, { path: '/api/changes?flow=return_to_refund' }],
  'GET /api/systems/map': () => [{ path: '/api/systems/map', finds: each(['storefront']) }],
  'GET /api/systems/calls': () => [
    { path: '/api/systems/calls?source=storefront&target=erp', finds: each(['storefront']) },
    { path: '/api/systems/calls?source=instore&target=erp', finds: { flow: [T.kiosk] }, refused: ['system'] },
  ],
}
/** Reads sent as a POST: a bulk replay's dry run says which exceptions it would take. */
const POSTED_READS: Visit[] = [
  { path: '/api/exceptions/replay', json: { filter: {}, dryRun: true }, finds: each(['SO-WEB-1']) },
]

/** An answer less the query it echoes (search answers with its `q`): what the caller typed is no leak. */
function withoutEcho(text: string): string {
  try {
    const json = JSON.parse(text) as Record<string, unknown>
    if (json && typeof json === 'object' && 'q' in json) return JSON.stringify({ ...json, q: undefined })
  } catch {}
  return text
}

describe('every read route, with tokens scoped by channel, by flow and by system', () => {
  it('has a walk for each read route of the app', () => {
    const reads = [...declaredPolicies(apiApp(sb.store, sb.config, sb.log)).keys()].filter((k) =>
      k.startsWith('GET '),
    )
    expect(reads.filter((r) => !(r in WALK))).toEqual([])
  })

  it.each(ALL)(
    'never shows a %s-scoped token what lies outside its scope, and shows what lies inside',
    async (who) => {
      const problems: string[] = []
      const visits = [...Object.values(WALK).flatMap((visitsOf) => visitsOf(who)), ...POSTED_READS]
      for (const visit of visits) {
        const res = await call(tokens[who], visit.path, visit.json)
        const body = withoutEcho(await res.text())
        const where = `${visit.json ? 'POST' : 'GET'} ${visit.path}`
        if (res.status === 500) problems.push(`${where}: ${res.status} ${body.slice(0, 200)}`)
        for (const marker of OUTSIDE[who])
          if (body.toLowerCase().includes(marker.toLowerCase())) problems.push(`${where} shows ${marker}`)
        if (visit.refused?.includes(who) && res.status !== 403)
          problems.push(`${where}: ${res.status}, not 403`)
        for (const wanted of visit.finds?.[who] ?? [])
          if (res.status !== 200 || !body.includes(wanted))
            problems.push(`${where}: ${res.status}, without ${wanted} (in scope)`)
      }
      expect(problems).toEqual([])
    },
  )
})

describe('actions by scoped tokens', () => {
  const endsAt = () => new Date(Date.now() + HOUR).toISOString()
  const del = (token: string, path: string) =>
    fetch(`${sb.apiUrl}${path}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })

  it('are refused on what lies outside the scope, before anything is done', async () => {
    const web = tokens.channel
    const kioskException = exceptions.get('SO-KIOSK-1')
    const refused = [
      await call(web, `/api/exceptions/${kioskException}/replay`, { reason: 'not mine' }),
      await call(web, `/api/exceptions/${kioskException}/ignore`, { reason: 'not mine' }),
      await call(web, '/api/entities/order/SO-KIOSK-1/resync', { reason: 'not mine' }),
      await call(web, '/api/alerts/alert-kiosk/ack', { comment: 'not mine' }),
      await call(web, `/api/replay-jobs/${adminJob}/cancel`, {}),
      await del(web, '/api/silences/silence-kiosk'),
      // A silence that is not pinned to the token's channel would silence other channels too.
      await del(web, '/api/silences/silence-orders'),
      await call(web, '/api/silences', { matchers: ['severity = page'], endsAt: endsAt(), comment: 'all' }),
      await call(tokens.system, '/api/connectors/stock-conn/probe', {}),
      await call(tokens.flow, `/api/exceptions/${exceptions.get('RT-KIOSK-1')}/ignore`, {
        reason: 'not mine',
      }),
    ]
    expect(refused.map((r) => r.status)).toEqual(refused.map(() => 403))
    const exception = (await (await call(admin, '/api/exceptions')).json()) as {
      exceptions: Array<{ id: string; status: string }>
    }
    expect(exception.exceptions.find((e) => e.id === kioskException)?.status).toBe('open')
    const silences = (await (await call(admin, '/api/silences')).json()) as {
      silences: Array<{ id: string }>
    }
    expect(silences.silences.map((s) => s.id)).toEqual(
      expect.arrayContaining(['silence-kiosk', 'silence-orders']),
    )
  })

  it('go ahead within the scope', async () => {
    const made = await call(tokens.channel, '/api/silences', {
      matchers: ['channel = web'],
      endsAt: endsAt(),
      comment: 'web only',
    })
    expect(made.status).toBe(201)
    const { silence } = (await made.json()) as { silence: { id: string } }
    expect((await del(tokens.channel, `/api/silences/${silence.id}`)).status).toBe(200)
    expect((await call(tokens.system, '/api/connectors/web-conn/probe', {})).status).toBe(200)
    const ignored = await call(tokens.channel, `/api/exceptions/${exceptions.get('SO-WEB-1')}/ignore`, {
      reason: 'walk',
    })
    expect(ignored.status).toBe(200)
  })
})
