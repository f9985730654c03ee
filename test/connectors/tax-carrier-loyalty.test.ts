import { describe, expect, it, onTestFinished } from 'vitest'
import type { Order } from '../../connectors/order-to-cash/order.ts'
import { useDemo } from '../support/demo.ts'

// Edges of the system map are rolled up on a timer: every second here.
const fixture = useDemo({ env: { SIGNALBOX_ROLLUP_INTERVAL_SECONDS: '1' } })
const estate = () => fixture.demo.estate
const api = async <T>(path: string): Promise<T> =>
  (await (await fetch(`${fixture.sb.apiUrl}${path}`)).json()) as T

interface Lifecycle {
  status: string
  stages: Array<{ name: string; status: string; system: string | null; replayId: string | null }>
  timeline: Array<{ kind: string; system: string; name: string }>
}
const lifecycle = (orderId: string) => api<Lifecycle>(`/api/orders/${orderId}/lifecycle`)
const stage = async (orderId: string, name: string) =>
  (await lifecycle(orderId)).stages.find((s) => s.name === name)
const eventTypes = async (subject: string) =>
  (await api<{ events: Array<{ type: string }> }>(`/api/events?subject=${subject}`)).events.map((e) => e.type)

/** An order to be shipped, placed through the storefront's webhook like any other. */
async function placeShippedOrder(): Promise<Order> {
  const order: Order = { ...estate().storefront.nextOrder(), fulfilment: 'ship', channel: 'web' }
  delete (order as { tradeAccount?: string }).tradeAccount
  delete (order as { paymentTerms?: string }).paymentTerms
  await fixture.demo.placeOrder(order)
  return order
}

/** The warehouse ships it (the carrier's label is made then); the carrier then moves it on. */
async function shipAndTrack(orderId: string, until: (types: string[]) => boolean) {
  await expect.poll(() => estate().wms.releases.has(orderId), { timeout: 20_000 }).toBe(true)
  estate().wms.advance()
  await expect
    .poll(() => [...estate().carrier.parcels.values()].some((p) => p.orderId === orderId), {
      timeout: 20_000,
    })
    .toBe(true)
  await expect
    .poll(
      async () => {
        await estate().carrier.advance()
        // The order's events, and its shipment's (the carrier's tracking: subject the shipment).
        return until([...(await eventTypes(orderId)), ...(await eventTypes(`SHP-${orderId}`))])
      },
      { timeout: 20_000, interval: 300 },
    )
    .toBe(true)
}

describe('the tax engine at capture', () => {
  it('an outage blocks the order with a replayable exception; a replay once it is back takes the order to the end', async () => {
    estate().tax.faults.outage = true
    onTestFinished(() => {
      estate().tax.faults.outage = false
    })
    const order = await placeShippedOrder()
    type Exception = { id: string; step: string; entity: { id: string }; error: { class: string } }
    const exception = async () =>
      (await api<{ exceptions: Exception[] }>('/api/exceptions?connector=order-to-cash')).exceptions.find(
        (e) => e.entity.id === order.orderId,
      )
    await expect
      .poll(exception, { timeout: 20_000 })
      .toMatchObject({ step: 'capture', error: { class: 'tax.http_503' } })
    // Blocked: not captured, nothing reserved, posted or released.
    expect(await eventTypes(order.orderId)).toEqual([])
    expect(estate().erp.salesOrdersFor(order.orderId)).toEqual([])
    expect(estate().wms.releases.has(order.orderId)).toBe(false)
    await expect
      .poll(async () => (await lifecycle(order.orderId)).stages[0], { timeout: 10_000 })
      .toMatchObject({ name: 'captured', status: 'failed' })
    expect((await lifecycle(order.orderId)).timeline).toContainEqual(
      expect.objectContaining({ kind: 'exception', system: 'tax' }),
    )

    estate().tax.faults.outage = false
    const e = (await exception()) as Exception
    const res = await fetch(`${fixture.sb.apiUrl}/api/exceptions/${e.id}/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'ops@example.com', reason: 'tax engine back' }),
    })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { replay: { status: string } }).replay.status).toBe('succeeded')
    expect(estate().tax.transactions.get(order.orderId)?.tax).toBeGreaterThan(0)
    await shipAndTrack(order.orderId, (types) => types.includes('retail.order.delivered'))
    await expect
      .poll(async () => (await lifecycle(order.orderId)).status, { timeout: 20_000 })
      .toBe('completed')
    const done = await lifecycle(order.orderId)
    expect(done.stages[0]?.replayId).toMatch(/^rpl_/)
    expect(done.timeline).toContainEqual(
      expect.objectContaining({ kind: 'event', system: 'tax', name: 'retail.order.tax_calculated' }),
    )
  })
})

describe('the carrier', () => {
  it('labels the shipment, and its delivered webhook completes the order’s delivered stage', async () => {
    const order = await placeShippedOrder()
    await shipAndTrack(order.orderId, (types) => types.includes('retail.order.delivered'))
    const parcel = [...estate().carrier.parcels.values()].find((p) => p.orderId === order.orderId)
    const shipped = (
      await api<{ events: Array<{ type: string; data: { trackingNumber?: string } }> }>(
        `/api/events?subject=${order.orderId}&type=retail.order.shipped`,
      )
    ).events[0]
    expect(shipped?.data.trackingNumber).toBe(parcel?.trackingNumber)
    await expect
      .poll(() => stage(order.orderId, 'delivered'), { timeout: 10_000 })
      .toMatchObject({ status: 'done', system: 'carrier' })
    // The tracking before it is on the order's timeline, in the carrier's lane.
    const { timeline } = await lifecycle(order.orderId)
    const tracking = timeline.filter((t) => t.kind === 'event' && t.system === 'carrier').map((t) => t.name)
    expect(tracking).toEqual([
      'retail.shipment.in_transit',
      'retail.shipment.out_for_delivery',
      'retail.order.delivered',
    ])
  })

  it('a failed delivery attempt is a shipment exception; a delivery never confirmed leaves the order incomplete', async () => {
    estate().carrier.tracking = { exceptionRate: 1, missedConfirmationRate: 1, delayMs: 0 }
    onTestFinished(() => {
      estate().carrier.tracking = { exceptionRate: 0, missedConfirmationRate: 0, delayMs: 0 }
    })
    const order = await placeShippedOrder()
    await shipAndTrack(order.orderId, (types) => types.includes('retail.shipment.exception'))
    // The carrier gets it there, but says nothing of it.
    estate().carrier.tracking.exceptionRate = 0
    for (let i = 0; i < 3; i++) await estate().carrier.advance()
    const parcel = [...estate().carrier.parcels.values()].find((p) => p.orderId === order.orderId)
    expect(
      estate()
        .carrier.updates.filter((u) => u.reference === order.orderId)
        .at(-1)?.status,
    ).toBe('delivered')
    expect(parcel).toBeDefined()
    expect(await eventTypes(order.orderId)).not.toContain('retail.order.delivered')
    // Passed over once the invoice, the stage after it, is in: unconfirmed (stuck once past its limit
    // from `fulfilled`), and the order never completes.
    await expect
      .poll(async () => (await stage(order.orderId, 'delivered'))?.status, { timeout: 20_000 })
      .toBe('unconfirmed')
    expect((await lifecycle(order.orderId)).status).not.toBe('completed')
  })
})

describe('the loyalty system', () => {
  it('accrues points at invoice and reverses them at refund, each a call the system map draws', async () => {
    const order = await placeShippedOrder()
    await shipAndTrack(order.orderId, (types) => types.includes('retail.order.loyalty_accrued'))
    // In the order's loyalty lane.
    await expect
      .poll(async () => (await lifecycle(order.orderId)).timeline, { timeout: 10_000 })
      .toContainEqual(
        expect.objectContaining({ kind: 'event', system: 'loyalty', name: 'retail.order.loyalty_accrued' }),
      )
    const earned = estate().loyalty.pointsFor(order.orderId)
    expect(earned).toBe(Math.floor(estate().erp.salesOrdersFor(order.orderId)[0]?.total ?? -1))
    const { ret } = await fixture.demo.placeReturn(order, 'changed_mind')
    await expect
      .poll(() => eventTypes(ret.returnId), { timeout: 20_000 })
      .toContain('retail.return.loyalty_reversed')
    expect(estate().loyalty.entriesFor(order.orderId, 'reversal')).toHaveLength(1)

    // Calls from the connectors to the tax engine, the carrier and the loyalty system, drawn from spans.
    type SystemMap = { nodes: Array<{ id: string }>; edges: Array<{ source: string; target: string }> }
    const edges = async () =>
      (await api<SystemMap>('/api/systems/map')).edges.map((e) => `${e.source} → ${e.target}`)
    await expect
      .poll(edges, { timeout: 30_000, interval: 500 })
      .toEqual(
        expect.arrayContaining([
          'connector-order-to-cash → tax',
          'connector-fulfilment → carrier',
          'connector-fulfilment → loyalty',
          'connector-return-to-refund → loyalty',
        ]),
      )
    const nodes = (await api<SystemMap>('/api/systems/map')).nodes.map((n) => n.id)
    expect(nodes).toEqual(expect.arrayContaining(['tax', 'carrier', 'loyalty']))
  })

  it('an outage holds up no order: points owed become an exception to replay', async () => {
    estate().loyalty.faults.outage = true
    onTestFinished(() => {
      estate().loyalty.faults.outage = false
    })
    const order = await placeShippedOrder()
    await shipAndTrack(order.orderId, (types) => types.includes('retail.order.delivered'))
    await expect
      .poll(() => stage(order.orderId, 'invoiced'), { timeout: 20_000 })
      .toMatchObject({ status: 'done' })
    type Exception = { id: string; step: string; entity: { id: string }; error: { class: string } }
    const exception = async () =>
      (await api<{ exceptions: Exception[] }>('/api/exceptions?connector=fulfilment')).exceptions.find(
        (e) => e.entity.id === order.orderId,
      )
    await expect
      .poll(exception, { timeout: 20_000 })
      .toMatchObject({ step: 'accrue_loyalty', error: { class: 'loyalty.http_503' } })
    expect((await lifecycle(order.orderId)).status).toBe('completed')
    estate().loyalty.faults.outage = false
    const e = (await exception()) as Exception
    const res = await fetch(`${fixture.sb.apiUrl}/api/exceptions/${e.id}/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'ops@example.com', reason: 'loyalty back' }),
    })
    expect(res.status).toBe(200)
    expect(estate().loyalty.entriesFor(order.orderId, 'accrual')).toHaveLength(1)
  })
})
