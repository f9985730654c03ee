import { Hono } from 'hono'
import { type Faults, injectFault, NO_FAULTS, seededRandom } from './faults.ts'

/** A payment gateway: checks that an order's authorization can be captured. Declines are 402. */
export class PaymentSimulator {
  faults: Faults = { ...NO_FAULTS }
  /** Orders whose card the gateway declines (tests, scenarios). */
  readonly declined = new Set<string>()
  private readonly random: () => number

  constructor(seed = 2) {
    this.random = seededRandom(seed)
  }

  readonly app = new Hono().post('/v1/authorizations/:orderId/capture-check', (c) => {
    const fault = injectFault(this.faults, this.random, 'payment gateway')
    if (fault) {
      if (fault.retryAfter) c.header('Retry-After', String(fault.retryAfter))
      return c.json({ error: { type: 'api_error', message: fault.message } }, fault.status)
    }
    const orderId = c.req.param('orderId')
    if (this.declined.has(orderId))
      return c.json(
        { error: { type: 'card_error', code: 'card_declined', message: 'The card was declined' } },
        402,
      )
    return c.json({ orderId, authorized: true, authorizationId: `auth_${orderId.toLowerCase()}` })
  })
}
