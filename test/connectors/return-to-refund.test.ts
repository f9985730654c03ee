import { describe, expect, it } from 'vitest'
import { useDemo } from '../support/demo.ts'

const fixture = useDemo()

async function returnEvents(returnId: string) {
  const res = await fetch(`${fixture.sb.apiUrl}/api/events?subject=${returnId}`)
  return (
    (await res.json()) as {
      events: Array<{
        type: string
        extensions: Record<string, string>
        entities: Array<{ type: string; id: string }>
      }>
    }
  ).events
}

describe('a return', () => {
  it('is refunded, its loyalty points reversed, credited in the ERP and restocked, linked to its order', async () => {
    const order = fixture.demo.estate.storefront.nextOrder()
    const { ret, status } = await fixture.demo.placeReturn(order, 'wrong_size')
    expect(status).toBe(202)
    await expect.poll(async () => (await returnEvents(ret.returnId)).length, { timeout: 20_000 }).toBe(5)
    const events = await returnEvents(ret.returnId)
    expect(events.map((e) => e.type).sort()).toEqual([
      'retail.return.credit_posted',
      'retail.return.loyalty_reversed',
      'retail.return.received',
      'retail.return.refund_issued',
      'retail.return.restocked',
    ])
    for (const e of events) {
      expect(e.extensions.orderid).toBe(order.orderId)
      expect(e.entities).toContainEqual({ type: 'order', id: order.orderId })
    }
    expect(
      [...fixture.demo.estate.payment.refunds.values()].filter((r) => r.returnId === ret.returnId),
    ).toHaveLength(1)
    expect(fixture.demo.estate.erp.documentsFor(order.orderId, 'credit_memo')).toHaveLength(1)
    expect(fixture.demo.estate.wms.dispositions.get(ret.returnId)).toBe('restock')
    expect(fixture.demo.estate.loyalty.entriesFor(order.orderId, 'reversal')).toHaveLength(1)
  })

  it('disposes of damaged goods instead of restocking them', async () => {
    const order = fixture.demo.estate.storefront.nextOrder()
    const { ret } = await fixture.demo.placeReturn(order, 'damaged')
    await expect
      .poll(async () => (await returnEvents(ret.returnId)).map((e) => e.type), { timeout: 20_000 })
      .toContain('retail.return.disposed')
    expect(fixture.demo.estate.wms.dispositions.get(ret.returnId)).toBe('dispose')
  })
})
