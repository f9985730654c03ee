import { Hono } from 'hono'
import type { Order } from '../order-to-cash/order.ts'
import type { Return } from '../return-to-refund/index.ts'
import { customer } from './customers.ts'
import { seededRandom } from './faults.ts'
import { type Incidents, meets, TRADE_ACCOUNTS } from './incidents.ts'
import { newRunId } from './run.ts'

const CHANNELS: Order['channel'][] = ['web', 'web', 'app', 'marketplace', 'pos']
export const STORES = ['STORE-LDN-01', 'STORE-MAN-02', 'STORE-LDS-03']

export interface StorefrontOptions {
  /** Marks every id this run makes (estate/run.ts); a new one when not given. */
  readonly run?: string
  /** The troubles its orders meet, on their cadence; none when not given. */
  readonly incidents?: Incidents
}

/**
 * The storefront (and marketplace and POS) as a source of orders, delivered by webhook. The orders
 * are deterministic for the seed; their ids carry the run, so no two runs share one.
 */
export class StorefrontSimulator {
  private n = 0
  private stockChanges = 0
  /** What the bestseller has on hand at DC-NORTH: it sells down, then is restocked. */
  private bestsellerOnHand = 240
  private readonly random: () => number
  private readonly orders = new Map<string, Order>()
  readonly run: string
  readonly incidents: Incidents | undefined

  /** The storefront's order API: what a connector reads to re-sync an order from its source. */
  readonly app = new Hono().get('/api/orders/:id', (c) => {
    const order = this.orders.get(c.req.param('id'))
    return order ? c.json(order) : c.json({ error: { code: 'NOT_FOUND', message: 'no such order' } }, 404)
  })

  constructor(seed = 5, options: StorefrontOptions = {}) {
    this.random = seededRandom(seed)
    this.run = options.run ?? newRunId()
    this.incidents = options.incidents
  }

  nextOrder(): Order {
    const n = this.n++
    const channel = CHANNELS[Math.floor(this.random() * CHANNELS.length)] as Order['channel']
    const pickup = channel !== 'marketplace' && this.random() < 0.25
    const lineCount = 1 + Math.floor(this.random() * 3)
    const order: Order = {
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
    return this.incidents ? withIncidents(order, n, this.incidents) : order
  }

  /** A plausible stock movement at the source of truth: [sku, location, on hand, reserved]. */
  nextStockChange(): [string, string, number, number] {
    // One change in four is the bestseller selling down at the distribution centre.
    if (this.incidents && this.stockChanges++ % 4 === 0) {
      const onHand = this.bestsellerOnHand
      this.bestsellerOnHand = onHand < 60 ? 240 : onHand - 20 - Math.floor(this.random() * 30)
      return [this.incidents.bestseller, 'DC-NORTH', onHand, Math.floor(onHand * 0.1)]
    }
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

/**
 * An order as the estate's troubles shape it: now and then a trade customer buying on account (one
 * account in five is on credit hold at the ERP), a line under a SKU code the ERP has replaced, a line
 * of the SKU whose pick face is empty. The rest of the order is as drawn.
 */
function withIncidents(order: Order, n: number, incidents: Incidents): Order {
  let o = order
  if (meets(n, incidents.trade)) {
    const account = TRADE_ACCOUNTS[Math.floor(n / incidents.trade.every) % TRADE_ACCOUNTS.length] as string
    // Trade customers order online and have their goods delivered.
    o = {
      ...o,
      channel: 'web',
      fulfilment: 'ship',
      storeId: undefined,
      tradeAccount: account,
      paymentTerms: 'on_account',
    }
  }
  const first = o.lines[0] as Order['lines'][number]
  if (meets(n, incidents.supersededLine))
    o = { ...o, lines: [{ ...first, sku: incidents.superseded[0] }, ...o.lines.slice(1)] }
  if (meets(n, incidents.replenishmentLine))
    o = { ...o, lines: [...o.lines, { sku: incidents.awaitingReplenishment, quantity: 1, unitPrice: 24.99 }] }
  return o
}
