import { Hono } from 'hono'
import { z } from 'zod'
import { type Faults, faultInjection, NO_FAULTS, seededRandom } from './faults.ts'

const message = z.object({ orderId: z.string().min(1), template: z.string().min(1) })

/** The customer notification service: one message per idempotency key. */
export class NotificationSimulator {
  faults: Faults = { ...NO_FAULTS }
  readonly sent = new Map<string, { orderId: string; template: string }>()
  readonly random: () => number

  constructor(seed = 6) {
    this.random = seededRandom(seed)
  }

  readonly app = new Hono().use(faultInjection(this, 'notification service')).post('/messages', async (c) => {
    const key = c.req.header('idempotency-key') ?? crypto.randomUUID()
    const parsed = message.safeParse(await c.req.json().catch(() => undefined))
    if (!parsed.success) return c.json({ error: 'invalid message' }, 400)
    if (!this.sent.has(key)) this.sent.set(key, parsed.data)
    return c.json({ id: key }, 202)
  })
}
