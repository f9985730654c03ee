import { Hono } from 'hono'
import { type Faults, faultInjection, NO_FAULTS, seededRandom } from './faults.ts'

/** A payment gateway: checks that an order's authorization can be captured. Declines are 402. */
export class PaymentSimulator {
  faults: Faults = { ...NO_FAULTS }
  /** Orders whose card the gateway declines (tests, scenarios). */
  readonly declined = new Set<string>()
  readonly random: () => number

  constructor(seed = 2) {
    this.random = seededRandom(seed)
  }

  /** Refunds by idempotency key: a repeated request returns the refund already made. */
  readonly refunds = new Map<string, { id: string; returnId: string; amount: number }>()

  readonly app = new Hono()
    .use(faultInjection(this, 'payment gateway', (_, message) => ({ error: { type: 'api_error', message } })))
    .post('/v1/refunds', async (c) => {
      const key = c.req.header('idempotency-key')
      if (!key)
        return c.json(
          { error: { type: 'invalid_request_error', message: 'Idempotency-Key is required' } },
          400,
        )
      const existing = this.refunds.get(key)
      if (existing) return c.json(existing)
      const body = (await c.req.json().catch(() => undefined)) as
        | { returnId?: unknown; amount?: unknown }
        | undefined
      if (typeof body?.returnId !== 'string' || typeof body.amount !== 'number' || body.amount <= 0) {
        return c.json(
          {
            error: { type: 'invalid_request_error', message: 'returnId and a positive amount are required' },
          },
          400,
        )
      }
      const refund = { id: `re_${body.returnId.toLowerCase()}`, returnId: body.returnId, amount: body.amount }
      this.refunds.set(key, refund)
      return c.json(refund, 201)
    })
    .post('/v1/authorizations/:orderId/capture-check', (c) => {
      const orderId = c.req.param('orderId')
      if (this.declined.has(orderId))
        return c.json(
          { error: { type: 'card_error', code: 'card_declined', message: 'The card was declined' } },
          402,
        )
      return c.json({ orderId, authorized: true, authorizationId: `auth_${orderId.toLowerCase()}` })
    })
}
