import { Hono } from 'hono'
import { z } from 'zod'
import { type Faults, faultInjection, NO_FAULTS, seededRandom } from './faults.ts'

const accrual = z.object({
  orderId: z.string().min(1),
  salesOrder: z.string().min(1),
  amount: z.number().nonnegative(),
})
const reversal = z.object({
  orderId: z.string().min(1),
  returnId: z.string().min(1),
  amount: z.number().positive(),
})

/** A point a pound spent, rounded down, as most retail schemes count. */
const pointsFor = (amount: number) => Math.floor(amount)

/**
 * The loyalty system: points accrued on an order once it is invoiced, taken back when a return is
 * refunded. One entry per idempotency key. Nothing waits on it, so an outage leaves points owed
 * (failed syncs to replay), not orders stopped.
 */
export class LoyaltySimulator {
  faults: Faults = { ...NO_FAULTS }
  readonly random: () => number
  readonly entries = new Map<
    string,
    { id: string; kind: 'accrual' | 'reversal'; orderId: string; points: number }
  >()

  constructor(seed = 16) {
    this.random = seededRandom(seed)
  }

  /** The order's balance: points accrued less points reversed. */
  pointsFor(orderId: string): number {
    let points = 0
    for (const e of this.entries.values())
      if (e.orderId === orderId) points += e.kind === 'accrual' ? e.points : -e.points
    return points
  }

  entriesFor(orderId: string, kind: 'accrual' | 'reversal') {
    return [...this.entries.values()].filter((e) => e.orderId === orderId && e.kind === kind)
  }

  readonly app = new Hono()
    .use(faultInjection(this, 'loyalty system'))
    .post('/v1/accruals', async (c) => {
      const key = c.req.header('idempotency-key')
      if (!key) return c.json({ error: 'Idempotency-Key is required' }, 400)
      const existing = this.entries.get(key)
      if (existing) return c.json(existing)
      const parsed = accrual.safeParse(await c.req.json().catch(() => undefined))
      if (!parsed.success) return c.json({ error: 'orderId, salesOrder and amount are required' }, 400)
      const entry = {
        id: `acc_${parsed.data.orderId.toLowerCase()}`,
        kind: 'accrual' as const,
        orderId: parsed.data.orderId,
        points: pointsFor(parsed.data.amount),
      }
      this.entries.set(key, entry)
      return c.json(entry, 201)
    })
    .post('/v1/reversals', async (c) => {
      const key = c.req.header('idempotency-key')
      if (!key) return c.json({ error: 'Idempotency-Key is required' }, 400)
      const existing = this.entries.get(key)
      if (existing) return c.json(existing)
      const parsed = reversal.safeParse(await c.req.json().catch(() => undefined))
      if (!parsed.success)
        return c.json({ error: 'orderId, returnId and a positive amount are required' }, 400)
      const entry = {
        id: `rev_${parsed.data.returnId.toLowerCase()}`,
        kind: 'reversal' as const,
        orderId: parsed.data.orderId,
        points: pointsFor(parsed.data.amount),
      }
      this.entries.set(key, entry)
      return c.json(entry, 201)
    })
}
