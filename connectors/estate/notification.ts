import { Hono } from 'hono'
import { z } from 'zod'
import { type Faults, injectFault, NO_FAULTS, seededRandom } from './faults.ts'

const message = z.object({ orderId: z.string().min(1), template: z.string().min(1) })

/** The customer notification service: one message per idempotency key. */
export class NotificationSimulator {
  faults: Faults = { ...NO_FAULTS }
  readonly sent = new Map<string, { orderId: string; template: string }>()
  private readonly random: () => number

  constructor(seed = 6) {
    this.random = seededRandom(seed)
  }

  readonly app = new Hono().post('/messages', async (c) => {
    const fault = injectFault(this.faults, this.random, 'notification service')
    if (fault) {
      if (fault.retryAfter) c.header('Retry-After', String(fault.retryAfter))
      return c.json({ error: fault.message }, fault.status)
    }
    const key = c.req.header('idempotency-key') ?? crypto.randomUUID()
    const parsed = message.safeParse(await c.req.json().catch(() => undefined))
    if (!parsed.success) return c.json({ error: 'invalid message' }, 400)
    if (!this.sent.has(key)) this.sent.set(key, parsed.data)
    return c.json({ id: key }, 202)
  })
}
