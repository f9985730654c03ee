import { Hono } from 'hono'
import { z } from 'zod'
import { type Faults, faultInjection, NO_FAULTS, seededRandom } from './faults.ts'

const stockUpdate = z.object({ location: z.string().min(1), quantity: z.number().int().min(0) })
const priceUpdate = z.object({
  priceList: z.string().min(1),
  price: z.number().nonnegative(),
  promotionId: z.string().min(1).nullish(),
})

/** Why a channel refuses a SKU's price updates for a while, and whether only promotional ones. */
export interface PriceLock {
  readonly until: number
  readonly reason: string
  readonly promotionsOnly?: boolean
}

/**
 * A sales channel's stock API (storefront, marketplace, a POS store): what it was last told it may
 * sell, per SKU and location. `PUT /stock/{sku}` with `{ location, quantity }`.
 */
export class ChannelSimulator {
  faults: Faults = { ...NO_FAULTS }
  readonly stock = new Map<string, number>()
  /**
   * Listings the channel has suppressed pending review, by SKU, until then (epoch ms): their stock
   * updates are refused (422), so the channel goes on showing the last quantity it was told.
   */
  readonly suppressedListings = new Map<string, number>()
  /** What the channel shows, by SKU and price list. */
  readonly prices = new Map<string, { price: number; promotionId: string | null }>()
  /**
   * SKUs whose price updates the channel refuses (422) for a while — a marketplace's price-parity
   * lock, a store till that cannot take a promotion — so it goes on showing the last price it took.
   */
  readonly priceLocks = new Map<string, PriceLock>()
  readonly random: () => number
  readonly app: Hono

  constructor(
    readonly channel: string,
    seed: number,
  ) {
    this.random = seededRandom(seed)
    this.app = new Hono().use(faultInjection(this, channel)).put('/stock/:sku', async (c) => {
      const parsed = stockUpdate.safeParse(await c.req.json().catch(() => undefined))
      if (!parsed.success) {
        return c.json(
          { error: 'invalid stock update', issues: parsed.error.issues.map((i) => i.message) },
          400,
        )
      }
      const sku = c.req.param('sku')
      if ((this.suppressedListings.get(sku) ?? 0) > Date.now())
        return c.json(
          { error: `listing ${sku} is suppressed pending review: stock updates are refused` },
          422,
        )
      this.stock.set(`${sku}@${parsed.data.location}`, parsed.data.quantity)
      return c.json({ sku, ...parsed.data })
    })
    this.app.put('/prices/:sku', async (c) => {
      const parsed = priceUpdate.safeParse(await c.req.json().catch(() => undefined))
      if (!parsed.success)
        return c.json(
          { error: 'invalid price update', issues: parsed.error.issues.map((i) => i.message) },
          400,
        )
      const sku = c.req.param('sku')
      const lock = this.priceLocks.get(sku)
      if (lock && lock.until > Date.now() && (!lock.promotionsOnly || parsed.data.promotionId))
        return c.json({ error: `price update for ${sku} refused: ${lock.reason}` }, 422)
      const shown = { price: parsed.data.price, promotionId: parsed.data.promotionId ?? null }
      this.prices.set(`${sku}@${parsed.data.priceList}`, shown)
      return c.json({ sku, priceList: parsed.data.priceList, ...shown })
    })
  }

  /** What the channel shows for a SKU on a price list. */
  price(sku: string, priceList: string) {
    return this.prices.get(`${sku}@${priceList}`)
  }

  quantity(sku: string, location: string): number | undefined {
    return this.stock.get(`${sku}@${location}`)
  }
}
