import { describe, expect, it } from 'vitest'
import { PRICE_LIST } from '../../connectors/estate/pricing.ts'
import { useDemo } from '../support/demo.ts'

const fixture = useDemo()

interface Event {
  type: string
  extensions?: Record<string, string>
  data: { sku?: string; price?: number; promotionId?: string; priceList?: string }
}
const events = async (sku: string, type: string) => {
  const res = await fetch(`${fixture.sb.apiUrl}/api/events?subject=${sku}&type=${type}`)
  return ((await res.json()) as { events: Event[] }).events
}

describe('a price change at the source of truth', () => {
  it('is recorded and published to every channel side by side, each publication reported with its channel', async () => {
    const { pricing, channels } = fixture.demo.estate
    pricing.setPrice('SKU-PRICE-1', 49.99)
    await expect
      .poll(async () => (await events('SKU-PRICE-1', 'retail.price.published')).length, { timeout: 20_000 })
      .toBe(3)
    const [changed] = await events('SKU-PRICE-1', 'retail.price.changed')
    expect(changed?.data).toMatchObject({ sku: 'SKU-PRICE-1', priceList: PRICE_LIST, price: 49.99 })
    const published = await events('SKU-PRICE-1', 'retail.price.published')
    expect(published.map((e) => e.extensions?.channel).sort()).toEqual(['marketplace', 'pos', 'storefront'])
    expect(published.every((e) => e.data.price === 49.99 && e.data.priceList === PRICE_LIST)).toBe(true)
    for (const channel of Object.values(channels))
      expect(channel.price('SKU-PRICE-1', PRICE_LIST)?.price).toBe(49.99)
  })

  it('publishes a promotion to the channels it targets, with its promotion id, and its end to the same channels', async () => {
    const { pricing, channels } = fixture.demo.estate
    pricing.setPrice('SKU-PRICE-2', 80)
    await expect
      .poll(() => channels.marketplace.price('SKU-PRICE-2', PRICE_LIST)?.price, { timeout: 20_000 })
      .toBe(80)
    const promotion = pricing.startPromotion(
      { skus: ['SKU-PRICE-2'], channels: ['storefront', 'pos'], kind: 'percent', value: 25 },
      60_000,
    )
    await expect
      .poll(() => channels.pos.price('SKU-PRICE-2', PRICE_LIST), { timeout: 20_000 })
      .toEqual({
        price: 60,
        promotionId: promotion.promotionId,
      })
    expect(channels.storefront.price('SKU-PRICE-2', PRICE_LIST)).toEqual({
      price: 60,
      promotionId: promotion.promotionId,
    })
    const [started] = await events('SKU-PRICE-2', 'retail.promotion.started')
    expect(started?.data).toMatchObject({
      promotionId: promotion.promotionId,
      skus: ['SKU-PRICE-2'],
      kind: 'percent',
      value: 25,
    })
    // Not targeted: the marketplace keeps the full price and hears nothing of the promotion.
    expect(channels.marketplace.price('SKU-PRICE-2', PRICE_LIST)).toEqual({ price: 80, promotionId: null })

    pricing.endDuePromotions(Date.parse(promotion.endsAt))
    await expect
      .poll(() => channels.pos.price('SKU-PRICE-2', PRICE_LIST)?.price, { timeout: 20_000 })
      .toBe(80)
    expect(await events('SKU-PRICE-2', 'retail.promotion.ended')).toHaveLength(1)
  })
})
