import { Hono } from 'hono'
import { z } from 'zod'
import { type Faults, injectFault, NO_FAULTS, seededRandom } from './faults.ts'

const releaseRequest = z.object({
  orderId: z.string().min(1),
  fulfilment: z.enum(['ship', 'pickup']),
  lines: z.array(z.object({ sku: z.string().min(1), quantity: z.number().int().positive() })).min(1),
})

/** The warehouse: accepts an order released for picking, once per order. */
export class WmsSimulator {
  faults: Faults = { ...NO_FAULTS }
  readonly releases = new Map<string, { id: string; fulfilment: string }>()
  private readonly random: () => number

  constructor(seed = 4) {
    this.random = seededRandom(seed)
  }

  readonly app = new Hono().post('/outbound/releases', async (c) => {
    const fault = injectFault(this.faults, this.random, 'WMS')
    if (fault) {
      if (fault.retryAfter) c.header('Retry-After', String(fault.retryAfter))
      return c.json({ error: fault.message }, fault.status)
    }
    const parsed = releaseRequest.safeParse(await c.req.json().catch(() => undefined))
    if (!parsed.success)
      return c.json({ error: 'invalid release', issues: parsed.error.issues.map((i) => i.message) }, 400)
    const existing = this.releases.get(parsed.data.orderId)
    if (existing) return c.json(existing)
    const release = { id: `REL-${parsed.data.orderId}`, fulfilment: parsed.data.fulfilment }
    this.releases.set(parsed.data.orderId, release)
    return c.json(release, 201)
  })
}
