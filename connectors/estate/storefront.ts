import { Hono } from 'hono'
import type { Order } from '../order-to-cash/order.ts'
import type { Return } from '../return-to-refund/index.ts'
import { customer } from './customers.ts'
import { seededRandom } from './faults.ts'
import { newRunId } from './run.ts'

const CHANNELS: Order['channel'][] = ['web', 'web', 'app', 'marketplace', 'pos']
const STORES = ['STORE-LDN-01', 'STORE-MAN-02', 'STORE-LDS-03']

export interface StorefrontOptions {
  /** Marks every id this run makes (estate/run.ts); a new one when not given. */
  readonly run?: string
}

/**
 * The storefront (and marketplace and POS) as a source of orders, delivered by webhook. The orders
 * are deterministic for the seed; their ids carry the run, so no two runs share one.
 */
export class StorefrontSimulator {
  private n = 0
  private readonly random: () => number
  private readonly orders = new Map<string, Order>()
  readonly run: string

  /** The storefront's order API: what a connector reads to re-sync an order from its source. */
  readonly app = new Hono().get('/api/orders/:id', (c) => {
    const order = this.orders.get(c.req.param('id'))
    return order ? c.json(order) : c.json({ error: { code: 'NOT_FOUND', message: 'no such order' } }, 404)
  })

  constructor(seed = 5, options: StorefrontOptions = {}) {
    this.random = seededRandom(seed)
    this.run = options.run ?? newRunId()
  }

  nextOrder(): Order {
    const n = this.n++
    const channel = CHANNELS[Math.floor(this.random() * CHANNELS.length)] as Order['channel']
    const pickup = channel !== 'marketplace' && this.random() < 0.25
    const lineCount = 1 + Math.floor(this.random() * 3)
    return {
      orderId: `SO-${this.run}-${String(n).padStart(5, '0')}`,
      channel,
      fulfilment: pickup ? 'pickup' : 'ship',
      storeId: pickup || channel === 'pos' ? STORES[n % STORES.length] : undefined,
      customer: customer(n),
      lines: Array.from({ length: lineCount }, () => ({
        sku: `SKU-${10_000 + Math.floor(this.random() * 500)}`,
        quantity: 1 + Math.floor(this.random() * 3),
        unitPrice: Math.round(this.random() * 12_000) / 100,
      })),
    }
  }

  /** A plausible stock movement at the source of truth: [sku, location, on hand, reserved]. */
  nextStockChange(): [string, string, number, number] {
    const sku = `SKU-${10_000 + Math.floor(this.random() * 500)}`
    const location = ['DC-NORTH', 'DC-SOUTH', ...STORES][Math.floor(this.random() * 5)] as string
    const onHand = Math.floor(this.random() * 400)
    return [sku, location, onHand, Math.floor(onHand * this.random() * 0.2)]
  }

  /** A return of the first line of an order, in store or online. */
  returnFor(order: Order, reason?: Return['reason']): Return {
    const line = order.lines[0] as Order['lines'][number]
    const reasons: Return['reason'][] = ['damaged', 'wrong_size', 'not_as_described', 'changed_mind']
    const channel: Return['channel'] = order.channel === 'pos' || this.random() < 0.4 ? 'pos' : 'web'
    return {
      returnId: `RT-${order.orderId}`,
      orderId: order.orderId,
      channel,
      storeId: channel === 'pos' ? (order.storeId ?? STORES[0]) : undefined,
      reason: reason ?? (reasons[Math.floor(this.random() * reasons.length)] as Return['reason']),
      lines: [{ sku: line.sku, quantity: 1, refundAmount: line.unitPrice }],
    }
  }

  /** Posts the order webhook the way the real storefront does; answers the HTTP status. */
  async placeOrder(webhookUrl: string, order = this.nextOrder()): Promise<{ order: Order; status: number }> {
    this.orders.set(order.orderId, order)
    const res = await fetch(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(order),
    })
    await res.arrayBuffer()
    return { order, status: res.status }
  }
}
