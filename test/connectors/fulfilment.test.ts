import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Demo, startDemo } from '../../connectors/demo.ts'
import type { Order } from '../../connectors/order-to-cash/order.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

let sb: TestSignalbox
let demo: Demo
beforeAll(async () => {
  sb = await startSignalbox()
  demo = await startDemo({
    collectorUrl: sb.collectorUrl,
    apiUrl: sb.apiUrl,
    ordersPerMinute: 0,
    retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
  })
  const { erp, payment, oms, wms, notification } = demo.estate
  for (const sim of [erp, payment, oms, wms, notification])
    sim.faults = { errorRate: 0, throttleRate: 0, outage: false }
})
afterAll(async () => {
  await demo?.close()
  await sb?.close()
})

async function eventTypes(orderId: string): Promise<string[]> {
  const res = await fetch(`${sb.apiUrl}/api/events?subject=${orderId}`)
  return ((await res.json()) as { events: Array<{ type: string }> }).events.map((e) => e.type).sort()
}

async function placeAndRelease(fulfilment: Order['fulfilment']): Promise<string> {
  const order = { ...demo.estate.storefront.nextOrder(), fulfilment, channel: 'web' as const }
  await demo.estate.storefront.placeOrder(demo.webhookUrl, order)
  await expect.poll(() => demo.estate.wms.releases.has(order.orderId), { timeout: 20_000 }).toBe(true)
  return order.orderId
}

describe('fulfilment', () => {
  it('turns a shipment into the ERP fulfilment, an invoice and a customer message, then delivery', async () => {
    const orderId = await placeAndRelease('ship')
    demo.estate.wms.advance()
    await expect.poll(() => eventTypes(orderId), { timeout: 20_000 }).toContain('retail.order.invoiced')
    expect(await eventTypes(orderId)).toContain('retail.order.shipped')
    await expect.poll(() => demo.estate.notification.sent.size, { timeout: 10_000 }).toBeGreaterThan(0)
    expect(demo.estate.erp.documentsFor(orderId, 'fulfilment')).toHaveLength(1)
    expect(demo.estate.erp.documentsFor(orderId, 'invoice')).toHaveLength(1)
    demo.estate.wms.advance()
    await expect.poll(() => eventTypes(orderId), { timeout: 20_000 }).toContain('retail.order.delivered')
  })

  it('takes a pickup order through ready for pickup and picked up', async () => {
    const orderId = await placeAndRelease('pickup')
    demo.estate.wms.advance()
    await expect
      .poll(() => eventTypes(orderId), { timeout: 20_000 })
      .toContain('retail.order.ready_for_pickup')
    demo.estate.wms.advance()
    await expect.poll(() => eventTypes(orderId), { timeout: 20_000 }).toContain('retail.order.picked_up')
    expect(await eventTypes(orderId)).not.toContain('retail.order.shipped')
  })
})
