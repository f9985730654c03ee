import { Hono } from 'hono'
import { z } from 'zod'
import { type Faults, faultInjection, NO_FAULTS, seededRandom } from './faults.ts'

const stockUpdate = z.object({ location: z.string().min(1), quantity: z.number().int().min(0) })

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
  }

  quantity(sku: string, location: string): number | undefined {
    return this.stock.get(`${sku}@${location}`)
  }
}
