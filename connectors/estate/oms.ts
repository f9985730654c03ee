import { Hono } from 'hono'
import { z } from 'zod'
import { type Faults, faultInjection, NO_FAULTS, seededRandom } from './faults.ts'

const reservationRequest = z.object({
  orderId: z.string().min(1),
  lines: z.array(z.object({ sku: z.string().min(1), quantity: z.number().int().positive() })).min(1),
})

/**
 * The order management service's inventory reservations: one reservation per order (a repeated
 * request returns it), 409 when stock is short.
 */
export class OmsSimulator {
  faults: Faults = { ...NO_FAULTS }
  readonly available = new Map<string, number>()
  private readonly reservations = new Map<
    string,
    { id: string; lines: Array<{ sku: string; quantity: number }> }
  >()
  readonly random: () => number

  constructor(seed = 3, stockPerSku = 1_000_000) {
    this.random = seededRandom(seed)
    this.defaultStock = stockPerSku
  }

  private readonly defaultStock: number

  readonly app = new Hono().use(faultInjection(this, 'OMS')).post('/reservations', async (c) => {
    const parsed = reservationRequest.safeParse(await c.req.json().catch(() => undefined))
    if (!parsed.success)
      return c.json(
        { error: 'invalid reservation request', issues: parsed.error.issues.map((i) => i.message) },
        400,
      )
    const existing = this.reservations.get(parsed.data.orderId)
    if (existing) return c.json(existing)
    for (const line of parsed.data.lines) {
      const left = this.available.get(line.sku) ?? this.defaultStock
      if (left < line.quantity)
        return c.json({ error: `insufficient stock for ${line.sku}`, available: left }, 409)
    }
    for (const line of parsed.data.lines)
      this.available.set(line.sku, (this.available.get(line.sku) ?? this.defaultStock) - line.quantity)
    const reservation = { id: `RSV-${parsed.data.orderId}`, lines: parsed.data.lines }
    this.reservations.set(parsed.data.orderId, reservation)
    return c.json(reservation, 201)
  })
}
