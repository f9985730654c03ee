import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ok, typedApi } from '../support/api-client.ts'
import { sendEvents } from '../support/events.ts'
import { readableSpan } from '../support/readable-span.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

/*
 * config/ as shipped, with one flow added whose second stage may be passed over (`optional: true`):
 * a warranty claim is inspected only when the goods come back.
 */
const WARRANTY_FLOW = `
warranty_claim:
  entity: warranty_claim
  stages:
    - name: opened
      events: [retail.warranty_claim.opened]
    - name: inspected
      events: [retail.warranty_claim.inspected]
      max_delay: 1h
      optional: true
    - name: resolved
      events: [retail.warranty_claim.resolved]
      max_delay: 1h
`

let sb: TestSignalbox
let configDir: string
beforeAll(async () => {
  configDir = mkdtempSync(join(tmpdir(), 'signalbox-config-'))
  const shipped = join(import.meta.dirname, '../../config')
  cpSync(shipped, configDir, { recursive: true, filter: (src) => src !== join(shipped, 'demo') })
  appendFileSync(join(configDir, 'flows.yaml'), WARRANTY_FLOW)
  sb = await startSignalbox({ SIGNALBOX_CONFIG_DIR: configDir })
})
afterAll(async () => {
  await sb?.close()
  rmSync(configDir, { recursive: true, force: true })
})

const HOUR = 3_600_000
const DAY = 24 * HOUR
const base = Date.now() - 10 * HOUR
const at = (offsetMs: number) => new Date(base + offsetMs).toISOString()
/** How the api writes the same instant: RFC 3339 with nanoseconds. */
const atNanos = (offsetMs: number) => at(offsetMs).replace('Z', '000000Z')

let n = 0
function event(type: string, subject: string, offsetMs: number, extra: Record<string, unknown> = {}) {
  return {
    specversion: '1.0',
    id: `e-${n++}`,
    source: 'urn:test',
    type,
    subject,
    time: at(offsetMs),
    ...extra,
  }
}

const send = (events: object[]) => sendEvents(sb.collectorUrl, events)

const api = () => typedApi(sb.apiUrl)
/** The order and return routes, kept as aliases of the route for any entity type. */
const lifecycle = (kind: 'orders' | 'returns', id: string) =>
  ok(api()[kind][':id'].lifecycle.$get({ param: { id } }))
type Lifecycle = Awaited<ReturnType<typeof lifecycle>>

const stage = (l: Lifecycle, name: string) => l.stages.find((s) => s.name === name)

describe('order lifecycles', () => {
  it('a pickup order through every stage is completed, each stage at its event time and system', async () => {
    const id = 'SO-PICKUP-1'
    await send([
      event('retail.order.created', id, 0, { system: 'storefront' }),
      event('retail.order.payment_authorized', id, 60_000, { system: 'payment' }),
      event('retail.order.inventory_reserved', id, 120_000, { system: 'oms' }),
      event('retail.order.erp_posted', id, 600_000, { system: 'erp' }),
      event('retail.order.ready_for_pickup', id, 2 * HOUR, { system: 'pos' }),
      event('retail.order.picked_up', id, 5 * HOUR, { system: 'pos' }),
      event('retail.order.invoiced', id, 5 * HOUR + 60_000, { system: 'erp' }),
    ])
    const l = await lifecycle('orders', id)
    expect(l.flow).toBe('order_to_cash')
    expect(l.status).toBe('completed')
    expect(l.stages.map((s) => [s.name, s.status])).toEqual([
      ['captured', 'done'],
      ['payment_authorized', 'done'],
      ['inventory_reserved', 'done'],
      ['erp_posted', 'done'],
      ['fulfilled', 'done'],
      ['delivered', 'done'],
      ['invoiced', 'done'],
    ])
    expect(stage(l, 'fulfilled')).toMatchObject({
      at: atNanos(2 * HOUR),
      system: 'pos',
      delayMs: 2 * HOUR - 600_000,
    })
    expect(stage(l, 'erp_posted')?.delayMs).toBe(480_000)
    expect(l.timeline.map((t) => t.name)).toEqual([
      'retail.order.created',
      'retail.order.payment_authorized',
      'retail.order.inventory_reserved',
      'retail.order.erp_posted',
      'retail.order.ready_for_pickup',
      'retail.order.picked_up',
      'retail.order.invoiced',
    ])
  })

  it('a shipped order that never reached the ERP is stuck, with the overdue stage late', async () => {
    const id = 'SO-STUCK-1'
    await send([
      event('retail.order.created', id, 0),
      event('retail.order.payment_authorized', id, 60_000),
      event('retail.order.inventory_reserved', id, 120_000),
    ])
    const l = await lifecycle('orders', id)
    expect(l.status).toBe('stuck')
    expect(l.stages.map((s) => s.status)).toEqual([
      'done',
      'done',
      'done',
      'late',
      'pending',
      'pending',
      'pending',
    ])
  })

  it('a stage whose sync failed, with nothing completing it, is failed', async () => {
    const id = 'SO-FAILED-1'
    await send([
      event('retail.order.created', id, 0),
      event('retail.order.payment_authorized', id, 1000),
      event('retail.order.inventory_reserved', id, 2000),
    ])
    const span = readableSpan({
      traceId: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
      spanId: '1a2b3c4d5e6f7081',
      name: 'sync order_to_cash.post_sales_order',
      startMs: base + 3000,
      durationMs: 20,
      attributes: { 'retail.order.id': id, 'integration.stage': 'erp_posted', 'integration.system': 'erp' },
      error: 'ERP answered 503',
    })
    await fetch(`${sb.collectorUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: ProtobufTraceSerializer.serializeRequest([span]) as BodyInit,
    })
    const l = await lifecycle('orders', id)
    expect(stage(l, 'erp_posted')?.status).toBe('failed')
    expect(l.status).toBe('failed')
  })

  it('shows duplicates once, a stage reported twice as such, and a stage reached out of order', async () => {
    const id = 'SO-ODD-1'
    const created = event('retail.order.created', id, 0)
    await send([created, created, event('retail.order.payment_authorized', id, 60_000)])
    // Reserved is reported with a time before payment was authorized; the ERP posting arrives twice.
    await send([
      event('retail.order.inventory_reserved', id, 30_000),
      event('retail.order.erp_posted', id, 90_000),
      event('retail.order.erp_posted', id, 95_000),
    ])
    const l = await lifecycle('orders', id)
    expect(stage(l, 'captured')?.occurrences).toBe(1)
    expect(stage(l, 'inventory_reserved')).toMatchObject({ status: 'done', outOfOrder: true })
    expect(stage(l, 'erp_posted')).toMatchObject({ status: 'done', occurrences: 2, at: atNanos(90_000) })
    expect(l.timeline.filter((t) => t.name === 'retail.order.created')).toHaveLength(1)
  })

  it('a cancelled order is cancelled', async () => {
    const id = 'SO-CANCEL-1'
    await send([event('retail.order.created', id, 0), event('retail.order.cancelled', id, 1000)])
    expect((await lifecycle('orders', id)).status).toBe('cancelled')
  })
})

describe('the stuck list', () => {
  it('lists the order overdue at the ERP, with the stage and how late, and not completed or cancelled ones', async () => {
    const body = await ok(api().flows[':flow'].stuck.$get({ param: { flow: 'order_to_cash' }, query: {} }))
    const stuck = body.stuck.find((s) => s.entity.id === 'SO-STUCK-1')
    expect(stuck).toMatchObject({ lastStage: 'inventory_reserved', overdueStage: 'erp_posted' })
    // Reserved 2 minutes after a start 10 hours ago, with a 1-hour limit: about 8h58m late.
    expect(stuck?.overdueMs).toBeGreaterThan(8 * HOUR)
    expect(stuck?.overdueMs).toBeLessThan(9 * HOUR)
    const ids = body.stuck.map((s) => s.entity.id)
    expect(ids).not.toContain('SO-PICKUP-1')
    expect(ids).not.toContain('SO-CANCEL-1')
  })

  it('answers 404 for an unknown flow', async () => {
    expect((await fetch(`${sb.apiUrl}/api/flows/teleport/stuck`)).status).toBe(404)
  })
})

/** An order shipped and invoiced `daysAgo` days ago (a pickup order: ready and picked up), delivered or not. */
const fulfilledOrder = (id: string, daysAgo: number, how: 'shipped' | 'pickup') => {
  const t = -daysAgo * DAY
  return [
    event('retail.order.created', id, t),
    event('retail.order.payment_authorized', id, t + 60_000),
    event('retail.order.inventory_reserved', id, t + 120_000),
    event('retail.order.erp_posted', id, t + 600_000),
    event(how === 'shipped' ? 'retail.order.shipped' : 'retail.order.ready_for_pickup', id, t + HOUR),
    ...(how === 'pickup' ? [event('retail.order.picked_up', id, t + 2 * HOUR)] : []),
    event('retail.order.invoiced', id, t + HOUR + 60_000),
  ]
}

const stuckList = async (query: { stage?: string } = {}) =>
  (await ok(api().flows[':flow'].stuck.$get({ param: { flow: 'order_to_cash' }, query }))).stuck

describe('a stage passed over while a later one was reached', () => {
  // Invoiced right after shipping (as the fulfilment connector does), the carrier never confirming delivery.
  const id = 'SO-UNCONFIRMED-1'

  it('is overdue-unconfirmed once its limit from the stage before has passed: the order is stuck, not completed', async () => {
    await send([
      ...fulfilledOrder(id, 9, 'shipped'),
      // Shipped 10 hours ago and invoiced: delivered is unconfirmed, but within its 7 days.
      ...fulfilledOrder('SO-UNCONFIRMED-RECENT', 0, 'shipped'),
      ...fulfilledOrder('SO-PICKUP-OLD', 9, 'pickup'),
    ])
    const l = await lifecycle('orders', id)
    expect(l.status).toBe('stuck')
    expect(stage(l, 'delivered')).toMatchObject({ status: 'overdue', at: null })
    expect(stage(l, 'invoiced')?.status).toBe('done')
    const recent = await lifecycle('orders', 'SO-UNCONFIRMED-RECENT')
    expect(recent.status).toBe('in_progress')
    expect(stage(recent, 'delivered')?.status).toBe('unconfirmed')
    const pickup = await lifecycle('orders', 'SO-PICKUP-OLD')
    expect(pickup.status).toBe('completed')
    expect(stage(pickup, 'delivered')?.status).toBe('done')
  })

  it('is in the stuck list, with the reason, and in the backlog after the stage its wait counts from', async () => {
    const row = (await stuckList()).find((s) => s.entity.id === id)
    expect(row).toMatchObject({
      kind: 'unconfirmed',
      lastStage: 'fulfilled',
      overdueStage: 'delivered',
      furthestStage: 'invoiced',
      reason: 'unconfirmed: delivered not confirmed 9 d after fulfilled, although invoiced',
    })
    // Shipped 9 days (less an hour, plus the 10 hours of `base`) ago, with a 7-day limit.
    expect(row?.overdueMs).toBeGreaterThan(2 * DAY)
    expect(row?.overdueMs).toBeLessThan(3 * DAY)
    expect((await stuckList({ stage: 'delivered' })).map((s) => s.entity.id)).toContain(id)
    const ids = (await stuckList()).map((s) => s.entity.id)
    expect(ids).not.toContain('SO-UNCONFIRMED-RECENT')
    expect(ids).not.toContain('SO-PICKUP-OLD')
    // The backlog counts both unconfirmed orders as waiting after `fulfilled`, the pickup order nowhere.
    const waiting = await ok(
      api().flows[':flow'].entities.$get({
        param: { flow: 'order_to_cash' },
        query: { stage: 'fulfilled', waiting: 'true' },
      }),
    )
    const waitingIds = waiting.entities.map((e) => e.entity.id)
    expect(waitingIds).toEqual(expect.arrayContaining([id, 'SO-UNCONFIRMED-RECENT']))
    expect(waitingIds).not.toContain('SO-PICKUP-OLD')
    expect(waiting.entities.find((e) => e.entity.id === id)?.status).toBe('in_progress')
  })

  it('leaves the stuck list and the backlog when the confirmation comes late', async () => {
    await send([event('retail.order.delivered', id, 0, { system: 'carrier' })])
    await expect.poll(async () => (await stuckList()).map((s) => s.entity.id)).not.toContain(id)
    const l = await lifecycle('orders', id)
    expect(l.status).toBe('completed')
    expect(stage(l, 'delivered')?.status).toBe('done')
    const waiting = await ok(
      api().flows[':flow'].entities.$get({
        param: { flow: 'order_to_cash' },
        query: { stage: 'fulfilled', waiting: 'true' },
      }),
    )
    expect(waiting.entities.map((e) => e.entity.id)).not.toContain(id)
  })

  it('never flags a stage the flow marks optional, and holds the entity to the next stage that is not', async () => {
    const claim = (type: string, subject: string, offsetMs: number) =>
      event(`retail.warranty_claim.${type}`, subject, offsetMs)
    await send([
      // Resolved without inspection: complete.
      claim('opened', 'WC-1', 0),
      claim('resolved', 'WC-1', 30 * 60_000),
      // Neither inspected nor resolved 10 hours on: overdue at resolved, not at inspected.
      claim('opened', 'WC-2', 0),
    ])
    const entity = (id: string) =>
      ok(api().entities[':type'][':id'].lifecycle.$get({ param: { type: 'warranty_claim', id } }))
    const done = await entity('WC-1')
    expect(done.status).toBe('completed')
    expect(done.stages.map((s) => s.status)).toEqual(['done', 'skipped', 'done'])
    const open = await entity('WC-2')
    expect(open.status).toBe('stuck')
    expect(open.stages.map((s) => s.status)).toEqual(['done', 'pending', 'late'])
    const stuck = (
      await ok(api().flows[':flow'].stuck.$get({ param: { flow: 'warranty_claim' }, query: {} }))
    ).stuck
    expect(stuck.map((s) => [s.entity.id, s.kind, s.overdueStage, s.lastStage])).toEqual([
      ['WC-2', 'overdue', 'resolved', 'opened'],
    ])
  })
})

describe('return lifecycles', () => {
  it('a return is linked to its order: its events appear in both', async () => {
    const orderId = 'SO-RET-1'
    const returnId = 'RT-SO-RET-1'
    await send([
      event('retail.order.created', orderId, 0, { sku: 'SKU-RET-9' }),
      event('retail.return.received', returnId, HOUR, { orderid: orderId }),
      event('retail.return.refund_issued', returnId, HOUR + 60_000, { orderid: orderId }),
      event('retail.return.credit_posted', returnId, HOUR + 120_000, { orderid: orderId }),
      event('retail.return.restocked', returnId, HOUR + 180_000, { orderid: orderId }),
    ])
    const r = await lifecycle('returns', returnId)
    expect(r.flow).toBe('return_to_refund')
    expect(r.status).toBe('completed')
    expect(r.links).toEqual([{ type: 'order', id: orderId }])
    const o = await lifecycle('orders', orderId)
    expect(o.timeline.map((t) => t.name)).toContain('retail.return.received')
    // The order links to its return and to the SKU its events name.
    expect(o.links).toEqual([
      { type: 'return', id: returnId },
      { type: 'sku', id: 'SKU-RET-9' },
    ])
  })

  it('answers the same through the route for any entity type as through the order and return routes', async () => {
    const generic = (type: string, id: string) =>
      ok(api().entities[':type'][':id'].lifecycle.$get({ param: { type, id } }))
    expect(await generic('return', 'RT-SO-RET-1')).toEqual(await lifecycle('returns', 'RT-SO-RET-1'))
    expect(await generic('order', 'SO-RET-1')).toEqual(await lifecycle('orders', 'SO-RET-1'))
    // A SKU in inventory_sync, through the same route.
    const sku = await generic('sku', 'SKU-RET-9')
    expect(sku.flow).toBe('inventory_sync')
    const none = await fetch(`${sb.apiUrl}/api/entities/parcel/P-1/lifecycle`)
    expect(none.status).toBe(404)
    expect(((await none.json()) as { error: { message: string } }).error.message).toBe(
      'no flow is configured for parcels; flows follow order, return, sku, purchase_order, warranty_claim',
    )
  })
})

describe('search', () => {
  it('finds orders and returns by id prefix, the exact match first, and a trace by id', async () => {
    const search = (q: string) => ok(api().search.$get({ query: { q } }))
    const body = await search('SO-RET')
    expect(body.results).toContainEqual(expect.objectContaining({ kind: 'order', id: 'SO-RET-1' }))
    const exact = await search('RT-SO-RET-1')
    expect(exact.results[0]).toMatchObject({ kind: 'return', id: 'RT-SO-RET-1' })
    const trace = await search('A1B2C3D4E5F60718293A4B5C6D7E8F90')
    expect(trace.results[0]).toMatchObject({ kind: 'trace', id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' })
  })

  it('answers 400 naming the parameter for an empty query, and nothing for a hostile one', async () => {
    const empty = await fetch(`${sb.apiUrl}/api/search?q=`)
    expect(empty.status).toBe(400)
    expect(((await empty.json()) as { error: { message: string } }).error.message).toMatch(/^q: /)
    const hostile = await ok(api().search.$get({ query: { q: "' OR 1=1 --" } }))
    expect(hostile.results).toEqual([])
  })
})

describe('bad ids', () => {
  it('answers 404 for an unknown order and a hostile id, 400 for an oversized one', async () => {
    for (const id of ['SO-NOPE', "x' OR 1=1 --", 'ünï🛒']) {
      const res = await fetch(`${sb.apiUrl}/api/orders/${encodeURIComponent(id)}/lifecycle`)
      expect(res.status).toBe(404)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found')
    }
    const long = await fetch(`${sb.apiUrl}/api/orders/${'x'.repeat(5000)}/lifecycle`)
    expect(long.status).toBe(400)
  })
})

describe('a stage completed by a replay', () => {
  it('shows the ERP stage done by the replay, when the replayed sync ran, and the order no longer failed', async () => {
    const id = 'SO-REPLAYED-1'
    await send([
      event('retail.order.created', id, 0, { system: 'storefront' }),
      event('retail.order.payment_authorized', id, 1000, { system: 'payment' }),
      event('retail.order.inventory_reserved', id, 2000, { system: 'oms' }),
    ])
    const failed = readableSpan({
      traceId: 'b1b2c3d4e5f60718293a4b5c6d7e8f90',
      spanId: '2a2b3c4d5e6f7081',
      name: 'sync order_to_cash.post_sales_order',
      startMs: base + 3000,
      durationMs: 20,
      attributes: { 'retail.order.id': id, 'integration.stage': 'erp_posted', 'integration.system': 'erp' },
      error: 'ERP answered 503',
    })
    // The replay runs the same step in a new trace, carrying the replay id on its span and its event.
    const replayed = readableSpan({
      traceId: 'c1b2c3d4e5f60718293a4b5c6d7e8f90',
      spanId: '3a2b3c4d5e6f7081',
      name: 'sync order_to_cash.post_sales_order',
      startMs: base + HOUR,
      durationMs: 30,
      attributes: {
        'retail.order.id': id,
        'integration.stage': 'erp_posted',
        'integration.system': 'erp',
        'signalbox.replay.id': 'rp-42',
      },
    })
    const res = await fetch(`${sb.collectorUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: ProtobufTraceSerializer.serializeRequest([failed, replayed]) as BodyInit,
    })
    expect(res.status).toBe(200)
    await send([
      event('retail.order.erp_posted', id, HOUR + 30, {
        system: 'erp',
        replayid: 'rp-42',
        traceparent: '00-c1b2c3d4e5f60718293a4b5c6d7e8f90-3a2b3c4d5e6f7081-01',
      }),
    ])
    const l = await lifecycle('orders', id)
    expect(stage(l, 'erp_posted')).toMatchObject({
      status: 'done',
      // Reached when the replayed sync span started; its event follows 30 ms later.
      at: atNanos(HOUR),
      system: 'erp',
      replayId: 'rp-42',
      delayMs: HOUR - 2000,
    })
    expect(stage(l, 'inventory_reserved')).toMatchObject({ status: 'done', replayId: null })
    expect(l.status).toBe('in_progress')
    const replayEntries = l.timeline.filter((t) => t.replayId === 'rp-42')
    expect(replayEntries.map((t) => t.kind).sort()).toEqual(['event', 'span'])
  })
})
