import { Hono } from 'hono'
import { type Faults, faultInjection, NO_FAULTS, seededRandom } from './faults.ts'

/** The CRM: the customer's order history, updated as orders are fulfilled. */
export class CrmSimulator {
  faults: Faults = { ...NO_FAULTS }
  readonly random: () => number
  readonly orderStatus = new Map<string, string>()

  constructor(seed = 7) {
    this.random = seededRandom(seed)
  }

  readonly app = new Hono().use(faultInjection(this, 'CRM')).put('/orders/:orderId/status', async (c) => {
    const body = (await c.req.json().catch(() => undefined)) as { status?: unknown } | undefined
    if (typeof body?.status !== 'string' || body.status === '')
      return c.json({ error: 'status is required' }, 400)
    this.orderStatus.set(c.req.param('orderId'), body.status)
    return c.json({ orderId: c.req.param('orderId'), status: body.status })
  })
}
