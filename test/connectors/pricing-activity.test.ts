import { describe, expect, it } from 'vitest'
import { ChannelSimulator } from '../../connectors/estate/channel.ts'
import { PRICE_LIST, PricingSimulator } from '../../connectors/estate/pricing.ts'
import { PricingActivity } from '../../connectors/estate/pricing-activity.ts'

const estate = () => ({
  pricing: new PricingSimulator(8),
  channels: {
    storefront: new ChannelSimulator('storefront', 10),
    marketplace: new ChannelSimulator('marketplace', 11),
    pos: new ChannelSimulator('pos', 12),
  },
})

describe('the demo’s pricing day', () => {
  it('meets each price trouble early: a marketplace keeping its price, tills missing a promotion, a lingering discount', () => {
    const { pricing, channels } = estate()
    const day = new PricingActivity(pricing, channels, 21, true)
    day.open()
    for (let i = 0; i < 3; i++) day.reprice()
    expect(channels.marketplace.priceLocks.size).toBeGreaterThanOrEqual(1)
    day.promote(0)
    expect([...channels.pos.priceLocks.values()]).toMatchObject([{ promotionsOnly: true }])
    const locked = channels.marketplace.priceLocks.size
    day.tick()
    expect(channels.marketplace.priceLocks.size).toBe(locked + 1)
    expect(pricing.pricedSkus(PRICE_LIST).length).toBeGreaterThan(0)
  })

  it('meets none without troubles', () => {
    const { pricing, channels } = estate()
    const day = new PricingActivity(pricing, channels, 21, false)
    day.open()
    for (let i = 0; i < 30; i++) day.reprice()
    for (let i = 0; i < 10; i++) day.promote(0)
    day.tick()
    for (const ch of Object.values(channels)) expect(ch.priceLocks.size).toBe(0)
  })
})
