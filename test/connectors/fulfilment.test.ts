import { describe, expect, it } from 'vitest'
import type { Order } from '../../connectors/order-to-cash/order.ts'
import { useDemo } from '../support/demo.ts'

const fixture = useDemo()

async function eventTypes(orderId: string): Promise<string[]> {
  const res = await fetch(`${fixture.sb.apiUrl}/api/events?subject=${orderId}`)
  return ((await res.json()) as { events: Array<{ type: string }> }).events.map((e) => e.type).sort()
}

async function placeAndRelease(fulfilment: Order['fulfilment']): Promise<string> {
  const order = { ...fixture.demo.estate.storefront.nextOrder(), fulfilment, channel: 'web' as const }
  await fixture.demo.estate.storefront.placeOrder(fixture.demo.webhookUrl, order)
  await expect.poll(() => fixture.demo.estate.wms.releases.has(order.orderId), { timeout: 20_000 }).toBe(true)
  return order.orderId
}

describe('fulfilment', () => {
  it('turns a shipment into the carrier’s label, the ERP fulfilment, an invoice and a customer message, then the carrier’s delivery', async () => {
    const orderId = await placeAndRelease('ship')
    fixture.demo.estate.wms.advance()
    await expect.poll(() => eventTypes(orderId), { timeout: 20_000 }).toContain('retail.order.invoiced')
    expect(await eventTypes(orderId)).toContain('retail.order.shipped')
    await expect
      .poll(() => fixture.demo.estate.notification.sent.size, { timeout: 10_000 })
      .toBeGreaterThan(0)
    await expect
      .poll(() => fixture.demo.estate.crm.orderStatus.get(orderId), { timeout: 10_000 })
      .toBe('shipped')
    expect(fixture.demo.estate.erp.documentsFor(orderId, 'fulfilment')).toHaveLength(1)
    expect(fixture.demo.estate.erp.documentsFor(orderId, 'invoice')).toHaveLength(1)
    // Shipped, it is the carrier's: a label was made, and its tracking webhooks bring the delivery.
    const parcel = [...fixture.demo.estate.carrier.parcels.values()].find((p) => p.orderId === orderId)
    expect(parcel?.shipmentId).toBe(`SHP-${orderId}`)
    expect(fixture.demo.estate.wms.advance().some((e) => e.orderId === orderId)).toBe(false)
    await expect
      .poll(
        async () => {
          await fixture.demo.estate.carrier.advance()
          return eventTypes(orderId)
        },
        { timeout: 20_000, interval: 300 },
      )
      .toContain('retail.order.delivered')
  })

  it('takes a pickup order through ready for pickup and picked up', async () => {
    const orderId = await placeAndRelease('pickup')
    fixture.demo.estate.wms.advance()
    await expect
      .poll(() => eventTypes(orderId), { timeout: 20_000 })
      .toContain('retail.order.ready_for_pickup')
    fixture.demo.estate.wms.advance()
    await expect.poll(() => eventTypes(orderId), { timeout: 20_000 }).toContain('retail.order.picked_up')
    expect(await eventTypes(orderId)).not.toContain('retail.order.shipped')
  })
})
