import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createToken } from '../../auth/tokens.ts'
import { getAs } from '../support/auth.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'
import { until } from '../support/until.ts'

let sb: TestSignalbox
let admin: string
const HOUR = 3_600_000

/** A token limited to a scope, made through the api as an admin would. */
async function scoped(scope: Record<string, string[]>, role = 'operator') {
  const res = await fetch(`${sb.apiUrl}/api/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `scoped ${JSON.stringify(scope)}`, kind: 'personal', role, scope }),
  })
  expect(res.status).toBe(201)
  return ((await res.json()) as { token: string }).token
}

const as = (token: string, path: string, json?: unknown) =>
  fetch(`${sb.apiUrl}${path}`, {
    method: json === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: json === undefined ? undefined : JSON.stringify(json),
  })

// Two orders captured two hours ago and never paid (stuck), one per channel and storefront system.
const orders = [
  { id: 'SO-SCOPE-WEB', channel: 'web', system: 'storefront' },
  { id: 'SO-SCOPE-MKT', channel: 'marketplace', system: 'marketplace' },
]

beforeAll(async () => {
  sb = await startSignalbox({ SIGNALBOX_AUTH: 'tokens' })
  admin = (await createToken(sb.store, { name: 'root', kind: 'personal', role: 'admin', createdBy: 'test' }))
    .token
  const time = new Date(Date.now() - 2 * HOUR).toISOString()
  const events = orders.map((o) => ({
    specversion: '1.0',
    id: `created-${o.id}`,
    source: `urn:${o.system}`,
    type: 'retail.order.created',
    subject: o.id,
    time,
    system: o.system,
    datacontenttype: 'application/json',
    data: { orderId: o.id, channel: o.channel },
  }))
  const posted = await fetch(`${sb.collectorUrl}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/cloudevents-batch+json' },
    body: JSON.stringify(events),
  })
  expect(posted.status).toBe(200)
  for (const [id, system, flow, entity] of [
    ['order-to-cash', 'erp', 'order_to_cash', { type: 'order', id: 'SO-SCOPE-WEB' }],
    ['inventory-sync', 'wms', 'inventory_sync', { type: 'sku', id: 'SKU-SCOPE' }],
  ] as const) {
    const registered = await as(admin, '/api/connectors', {
      id,
      system,
      flows: [flow],
      callbackUrl: 'http://127.0.0.1:9/callback',
    })
    expect(registered.status).toBe(201)
    const reported = await as(admin, '/api/exceptions', {
      connector: id,
      flow,
      step: 'sync',
      entity,
      payload: {},
      error: { class: `${system}.http_503`, message: 'down' },
      attempts: 1,
      traceId: 'e'.repeat(32),
      spanId: 'f'.repeat(16),
    })
    expect(reported.status).toBe(201)
  }
  await until(
    () => getAs(`${sb.apiUrl}/api/flows/order_to_cash/stuck`, admin),
    (stuck) => orders.every((o) => stuck.body.includes(o.id)),
    { what: 'both orders in the stuck list' },
  )
})
afterAll(async () => {
  await sb?.close()
})

type Stuck = { stuck: Array<{ entity: { id: string }; channel: string; systems: string[] }> }
const stuckIds = async (token: string, query = '') => {
  const res = await as(token, `/api/flows/order_to_cash/stuck${query}`)
  expect(res.status).toBe(200)
  return ((await res.json()) as Stuck).stuck.map((s) => s.entity.id).sort()
}

describe('the stuck list', () => {
  it('says each entity’s channel and systems, and filters by them and by stage', async () => {
    const res = (await (await as(admin, '/api/flows/order_to_cash/stuck')).json()) as Stuck
    expect(res.stuck.find((s) => s.entity.id === 'SO-SCOPE-MKT')).toMatchObject({
      channel: 'marketplace',
      systems: ['marketplace'],
    })
    expect(await stuckIds(admin, '?channel=marketplace')).toEqual(['SO-SCOPE-MKT'])
    expect(await stuckIds(admin, '?system=storefront')).toEqual(['SO-SCOPE-WEB'])
    expect(await stuckIds(admin, '?stage=payment_authorized')).toEqual(['SO-SCOPE-MKT', 'SO-SCOPE-WEB'])
    expect(await stuckIds(admin, '?stage=erp_posted')).toEqual([])
    expect((await as(admin, '/api/flows/order_to_cash/stuck?stage=nope')).status).toBe(400)
  })
})

describe('tokens scoped to flows, channels and systems', () => {
  it('keep a flow-scoped token to its flows: lists filtered, other flows refused', async () => {
    const token = await scoped({ flows: ['order_to_cash'] })
    const flows = (await (await as(token, '/api/flows')).json()) as { flows: Array<{ name: string }> }
    expect(flows.flows.map((f) => f.name)).toEqual(['order_to_cash'])
    for (const path of [
      '/api/flows/inventory_sync/stuck',
      '/api/flows/inventory_sync/metrics',
      '/api/inventory/SKU-SCOPE',
    ]) {
      const res = await as(token, path)
      expect(res.status, path).toBe(403)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('out_of_scope')
    }
    const exceptions = (await (await as(token, '/api/exceptions')).json()) as {
      exceptions: Array<{ id: string; flow: string }>
    }
    expect(exceptions.exceptions.map((e) => e.flow)).toEqual(['order_to_cash'])
    const all = (await (await as(admin, '/api/exceptions')).json()) as typeof exceptions
    const other = all.exceptions.find((e) => e.flow === 'inventory_sync')
    const replay = await as(token, `/api/exceptions/${other?.id}/replay`, { reason: 'not mine' })
    expect(replay.status).toBe(403)
    const dry = await as(token, '/api/exceptions/replay', { filter: {}, dryRun: true })
    expect(((await dry.json()) as { count: number }).count).toBe(1)
    // SLOs of other flows are left out (those not about a flow stay); one asked for by id is refused.
    const slos = (await (await as(token, '/api/slos')).json()) as { slos: Array<{ id: string }> }
    const ids = slos.slos.map((s) => s.id)
    expect(ids).toContain('order_reaches_erp')
    expect(ids).toContain('erp_calls_succeed')
    expect(ids).not.toContain('refund_in_time')
    expect((await as(token, '/api/slos/refund_in_time')).status).toBe(403)
    expect((await as(admin, '/api/slos/refund_in_time')).status).toBe(200)
  })

  it('keep a channel-scoped token to its channels: the stuck list and single orders', async () => {
    const token = await scoped({ channels: ['web'] }, 'support')
    expect(await stuckIds(token)).toEqual(['SO-SCOPE-WEB'])
    expect(await stuckIds(token, '?channel=marketplace')).toEqual([])
    expect((await as(token, '/api/orders/SO-SCOPE-WEB/lifecycle')).status).toBe(200)
    expect((await as(token, '/api/orders/SO-SCOPE-MKT/lifecycle')).status).toBe(403)
    expect((await as(token, '/api/entities/order/SO-SCOPE-MKT/lifecycle')).status).toBe(403)
  })

  it('keep a system-scoped token to its systems: connectors, exceptions, orders', async () => {
    const token = await scoped({ systems: ['erp', 'storefront'] })
    const connectors = (await (await as(token, '/api/connectors')).json()) as {
      connectors: Array<{ id: string }>
    }
    expect(connectors.connectors.map((c) => c.id)).toEqual(['order-to-cash'])
    const exceptions = (await (await as(token, '/api/exceptions')).json()) as {
      exceptions: Array<{ connector: string }>
    }
    expect(exceptions.exceptions.map((e) => e.connector)).toEqual(['order-to-cash'])
    expect(await stuckIds(token)).toEqual(['SO-SCOPE-WEB'])
    expect((await as(token, '/api/orders/SO-SCOPE-MKT/lifecycle')).status).toBe(403)
    const map = await as(token, '/api/systems/calls?source=oms&target=wms')
    expect(map.status).toBe(403)
  })

  it('narrow search to the flows in scope, and a trace to the systems in scope', async () => {
    type Found = { results: Array<{ kind: string; id: string }> }
    const search = async (token: string) =>
      ((await (await as(token, '/api/search?q=SO-SCOPE')).json()) as Found).results.map((r) => r.id).sort()
    expect(await search(await scoped({ flows: ['order_to_cash'] }, 'support'))).toEqual(
      orders.map((o) => o.id).sort(),
    )
    expect(await search(await scoped({ flows: ['inventory_sync'] }, 'support'))).toEqual([])
    const trace = 'ab'.repeat(16)
    const now = BigInt(Date.now()) * 1_000_000n
    const posted = await fetch(`${sb.collectorUrl}/v1/traces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'wms' } }] },
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: trace,
                    spanId: 'cd'.repeat(8),
                    name: 'pick',
                    kind: 2,
                    startTimeUnixNano: `${now}`,
                    endTimeUnixNano: `${now + 5_000_000n}`,
                  },
                ],
              },
            ],
          },
        ],
      }),
    })
    expect(posted.status).toBe(200)
    await until(
      () => as(admin, `/api/traces/${trace}`).then((r) => r.status),
      (s) => s === 200,
      { what: 'the trace stored' },
    )
    expect((await as(await scoped({ systems: ['erp'] }, 'support'), `/api/traces/${trace}`)).status).toBe(403)
    expect((await as(await scoped({ systems: ['wms'] }, 'support'), `/api/traces/${trace}`)).status).toBe(200)
  })

  it('are shown with their scope, and refuse a malformed one', async () => {
    const listed = (await (await as(admin, '/api/tokens')).json()) as {
      tokens: Array<{ name: string; scope: Record<string, string[]> }>
    }
    expect(listed.tokens.find((t) => t.name.includes('channels'))?.scope).toEqual({ channels: ['web'] })
    const bad = await as(admin, '/api/tokens', { name: 'x', kind: 'personal', scope: { regions: ['eu'] } })
    expect(bad.status).toBe(400)
  })
})
