import { Hono } from 'hono'
import { z } from 'zod'
import { type Faults, faultInjection, NO_FAULTS, seededRandom } from './faults.ts'

const calculation = z.object({
  orderId: z.string().min(1),
  currency: z.string().length(3),
  shipTo: z.object({ postalCode: z.string().min(1) }),
  lines: z
    .array(z.object({ sku: z.string().min(1), quantity: z.number().int().positive(), unitPrice: z.number() }))
    .min(1),
})

/** UK VAT at the standard rate: every line of the demo's catalogue is standard-rated. */
const VAT_RATE = 0.2

/**
 * The tax engine, called while an order is captured: the tax on each line for the delivery address,
 * committed as a transaction per order. Checkout cannot go on without it, so its outages and timeouts
 * (faults.latencyMs beyond the caller's timeout) block orders.
 */
export class TaxSimulator {
  faults: Faults = { ...NO_FAULTS }
  readonly random: () => number
  /** Tax transactions by order: a repeated calculation for an order returns the one already made. */
  readonly transactions = new Map<string, { id: string; orderId: string; tax: number; currency: string }>()

  constructor(seed = 14) {
    this.random = seededRandom(seed)
  }

  readonly app = new Hono()
    .use(faultInjection(this, 'tax engine', (_, message) => ({ error: { code: 'unavailable', message } })))
    .post('/v1/transactions', async (c) => {
      const parsed = calculation.safeParse(await c.req.json().catch(() => undefined))
      if (!parsed.success)
        return c.json(
          { error: { code: 'invalid_request', message: 'orderId, currency, shipTo and lines are required' } },
          400,
        )
      const { orderId, currency, lines } = parsed.data
      const existing = this.transactions.get(orderId)
      if (existing) return c.json(existing)
      const taxed = lines.map((l) => ({
        sku: l.sku,
        tax: Math.round(l.quantity * l.unitPrice * VAT_RATE * 100) / 100,
      }))
      const transaction = {
        id: `tx_${orderId.toLowerCase()}`,
        orderId,
        currency,
        rate: VAT_RATE,
        tax: Math.round(taxed.reduce((s, l) => s + l.tax, 0) * 100) / 100,
        lines: taxed,
      }
      this.transactions.set(orderId, transaction)
      return c.json(transaction, 201)
    })
}
