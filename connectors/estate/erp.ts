import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { type Faults, faultInjection, NO_FAULTS, seededRandom } from './faults.ts'
import { feedPage } from './feed.ts'
import { ErpPurchasing } from './purchasing.ts'

/**
 * A cloud ERP's sales-order API in the shapes that matter: an `Idempotency-Key` header is required
 * and a repeated key returns the order already created (never a second one), validation errors are
 * 422 with field details — a trade account on credit hold, an item code the item master replaced —
 * throttling is 429 with Retry-After, outages and maintenance windows are 503.
 */
const salesOrderRequest = z.object({
  orderId: z.string().min(1),
  channel: z.string().min(1),
  customer: z.object({
    name: z.string().min(1),
    email: z.email(),
    address: z.object({
      line1: z.string().min(1),
      city: z.string().min(1),
      postalCode: z.string().regex(/^[A-Z0-9 -]{3,10}$/i),
    }),
  }),
  lines: z
    .array(
      z.object({
        sku: z.string().min(1),
        quantity: z.number().int().positive(),
        unitPrice: z.number().nonnegative(),
      }),
    )
    .min(1),
  /** The trade account billed; required on account. */
  account: z.string().min(1).optional(),
  paymentTerms: z.enum(['prepaid', 'on_account']).default('prepaid'),
})
export type SalesOrderRequest = z.infer<typeof salesOrderRequest>

export interface SalesOrder {
  readonly number: string
  readonly orderId: string
  readonly idempotencyKey: string
  readonly total: number
  readonly createdAt: string
}

/** A change to stock at the source of truth, as the ERP's change feed lists it. */
export interface StockChange {
  readonly id: number
  readonly sku: string
  readonly location: string
  readonly onHand: number
  readonly available: number
  readonly at: string
}

type FieldError = { field: string; message: string }

export class ErpSimulator {
  faults: Faults = { ...NO_FAULTS }
  /** Trade accounts credit control has put on hold: no sales order on account for them. */
  readonly creditHolds = new Set<string>()
  /** Item codes the item master replaced, old → new: the old code is unknown to the ERP. */
  readonly supersededItems = new Map<string, string>()
  private readonly orders = new Map<string, SalesOrder>()
  private readonly stockChanges: StockChange[] = []
  /**
   * Change ids go on from the time the ERP started, in milliseconds: a real ERP's change feed never
   * reuses an id, and the simulator, which forgets its changes when it stops, must not either.
   */
  private readonly firstChangeId = Date.now()
  /** Fulfilments, invoices and credit memos, by idempotency key. */
  readonly documents = new Map<string, { kind: string; number: string; orderId: string }>()

  documentsFor(orderId: string, kind: string) {
    return [...this.documents.values()].filter((d) => d.orderId === orderId && d.kind === kind)
  }

  /** A document endpoint with the ERP's rules: faults, Idempotency-Key required, once per key. */
  private document(kind: string, prefix: string) {
    return async (c: Context) => {
      const key = c.req.header('idempotency-key')
      if (!key)
        return c.json(
          { error: { code: 'MISSING_IDEMPOTENCY_KEY', message: 'Idempotency-Key header is required' } },
          400,
        )
      const existing = this.documents.get(key)
      if (existing) return c.json(existing, 200)
      const body = (await c.req.json().catch(() => undefined)) as { orderId?: unknown } | undefined
      if (typeof body?.orderId !== 'string' || body.orderId === '') {
        return c.json(
          {
            error: {
              code: 'VALIDATION_FAILED',
              message: 'orderId is required',
              fields: [{ field: 'orderId', message: 'required' }],
            },
          },
          422,
        )
      }
      const doc = { kind, number: `${prefix}-${this.next++}`, orderId: body.orderId }
      this.documents.set(key, doc)
      return c.json(doc, 201)
    }
  }

  /** Records a stock adjustment (a goods receipt, a count, a write-off) in the change feed. */
  adjustStock(sku: string, location: string, onHand: number, reserved = 0): StockChange {
    const change = {
      id: this.firstChangeId + this.stockChanges.length,
      sku,
      location,
      onHand,
      available: Math.max(0, onHand - reserved),
      at: new Date().toISOString(),
    }
    this.stockChanges.push(change)
    return change
  }
  readonly random: () => number
  private next = 100_000

  constructor(seed = 1) {
    this.random = seededRandom(seed)
  }

  /** What the ERP's own rules refuse in a well-formed sales order: credit control, the item master. */
  private businessRules(so: SalesOrderRequest): FieldError[] {
    const problems: FieldError[] = []
    so.lines.forEach((line, i) => {
      const replacement = this.supersededItems.get(line.sku)
      if (replacement)
        problems.push({ field: `lines.${i}.sku`, message: `item ${line.sku} was replaced by ${replacement}` })
    })
    if (so.paymentTerms === 'on_account' && !so.account)
      problems.push({ field: 'account', message: 'an order on account names the trade account' })
    if (so.paymentTerms === 'on_account' && so.account && this.creditHolds.has(so.account))
      problems.push({
        field: 'paymentTerms',
        message: `account ${so.account} is on credit hold: take payment (prepaid) or release the hold`,
      })
    return problems
  }

  /** Sales orders created for one order: exactly-once means this is 1. */
  salesOrdersFor(orderId: string): SalesOrder[] {
    return [...this.orders.values()].filter((o) => o.orderId === orderId)
  }

  /** Purchase orders, their three-way match and receipts into stock (estate/purchasing.ts). */
  readonly purchasing = new ErpPurchasing((sku, location, onHand) => this.adjustStock(sku, location, onHand))

  readonly app = new Hono()
    .use(faultInjection(this, 'ERP', (status, message) => ({ error: { code: `E${status}`, message } })))
    .post('/api/salesorders', async (c) => {
      const key = c.req.header('idempotency-key')
      if (!key)
        return c.json(
          { error: { code: 'MISSING_IDEMPOTENCY_KEY', message: 'Idempotency-Key header is required' } },
          400,
        )
      const existing = this.orders.get(key)
      if (existing) return c.json(existing, 200)
      const parsed = salesOrderRequest.safeParse(await c.req.json().catch(() => undefined))
      if (!parsed.success) {
        return c.json(
          {
            error: {
              code: 'VALIDATION_FAILED',
              message: 'the sales order is invalid',
              fields: parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })),
            },
          },
          422,
        )
      }
      const refused = this.businessRules(parsed.data)
      if (refused.length > 0) {
        const credit = refused.some((f) => f.field === 'paymentTerms')
        return c.json(
          {
            error: {
              code: credit ? 'CREDIT_HOLD' : 'ITEM_NOT_FOUND',
              message: refused.map((f) => f.message).join('; '),
              fields: refused,
            },
          },
          422,
        )
      }
      const order: SalesOrder = {
        number: `SO-ERP-${this.next++}`,
        orderId: parsed.data.orderId,
        idempotencyKey: key,
        total: Math.round(parsed.data.lines.reduce((s, l) => s + l.quantity * l.unitPrice, 0) * 100) / 100,
        createdAt: new Date().toISOString(),
      }
      this.orders.set(key, order)
      return c.json(order, 201)
    })
    // The change feed, paginated by cursor (estate/feed.ts).
    .get('/api/inventory/changes', (c) => feedPage(c, this.stockChanges))
    .post('/api/fulfilments', (c) => this.document('fulfilment', 'FUL')(c))
    .post('/api/invoices', (c) => this.document('invoice', 'INV')(c))
    .post('/api/creditmemos', (c) => this.document('credit_memo', 'CM')(c))
    .route('/', this.purchasing.app)
    .get('/api/salesorders', (c) => {
      const orderId = c.req.query('orderId')
      return c.json({ items: orderId ? this.salesOrdersFor(orderId) : [...this.orders.values()] })
    })
}
