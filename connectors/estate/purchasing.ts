import { type Context, Hono } from 'hono'
import { seededRandom } from './faults.ts'
import { feedPage } from './feed.ts'

/** A purchase order as the ERP raises it: what was ordered from whom, for which warehouse. */
export interface PurchaseOrder {
  readonly poNumber: string
  readonly supplier: string
  /** The warehouse the goods are to be received at. */
  readonly location: string
  readonly currency: string
  readonly lines: ReadonlyArray<{
    readonly sku: string
    readonly quantity: number
    readonly unitCost: number
  }>
  readonly createdAt: string
}

/** One entry of the ERP's purchase-order feed: raised, or cancelled before anything was received. */
export interface PurchaseOrderChange {
  readonly id: number
  readonly kind: 'created' | 'cancelled'
  readonly purchaseOrder: PurchaseOrder
  readonly at: string
}

/** The ERP's three-way match of order, goods receipt and supplier invoice. */
export interface MatchResult {
  readonly poNumber: string
  readonly receipt: string
  readonly invoice: string
  /** `matched` when the invoice agrees with what was received; `variance` when it bills more or less. */
  readonly status: 'matched' | 'variance'
  /** Invoiced less received, at the order's unit costs. */
  readonly variance: number
}

const round2 = (n: number) => Math.round(n * 100) / 100
const idempotencyKeyOf = (c: Context) => c.req.header('idempotency-key')
const missingKey = (c: Context) =>
  c.json({ error: { code: 'MISSING_IDEMPOTENCY_KEY', message: 'Idempotency-Key header is required' } }, 400)
const notFound = (c: Context, po: string) =>
  c.json({ error: { code: 'NOT_FOUND', message: `no purchase order ${po}` } }, 404)

interface CountedLine {
  readonly sku: string
  readonly quantity: number
}

/**
 * The ERP's purchasing: purchase orders raised for replenishment, listed in a change feed
 * (`GET /api/purchaseorders/changes`), read by number, three-way matched against a goods receipt and
 * the supplier's invoice, and, once matched, the receipt posted to stock (a stock adjustment in the
 * ERP's own change feed, which inventory sync publishes to the channels). Mounted in the ERP's api,
 * behind its faults.
 */
export class ErpPurchasing {
  readonly purchaseOrders = new Map<string, PurchaseOrder>()
  readonly matches = new Map<string, MatchResult>()
  /** Receipts posted to stock, by idempotency key. */
  readonly stocked = new Map<string, { poNumber: string; receipt: string }>()
  private readonly changes: PurchaseOrderChange[] = []
  private readonly firstChangeId = Date.now()
  /** On hand per SKU and location as purchasing knows it, so that a receipt adds to it. */
  private readonly onHand = new Map<string, number>()

  constructor(private readonly adjustStock: (sku: string, location: string, onHand: number) => void) {}

  private record(kind: PurchaseOrderChange['kind'], purchaseOrder: PurchaseOrder) {
    this.changes.push({
      id: this.firstChangeId + this.changes.length,
      kind,
      purchaseOrder,
      at: new Date().toISOString(),
    })
  }

  /** Raises a purchase order now. */
  raise(po: PurchaseOrder): PurchaseOrder {
    this.purchaseOrders.set(po.poNumber, po)
    this.record('created', po)
    return po
  }

  /** Cancels a purchase order (recorded once). */
  cancel(poNumber: string): void {
    const po = this.purchaseOrders.get(poNumber)
    if (po && !this.changes.some((c) => c.kind === 'cancelled' && c.purchaseOrder.poNumber === poNumber))
      this.record('cancelled', po)
  }

  /** Compares what was received with what the supplier invoiced, at the order's unit costs. */
  private match(
    po: PurchaseOrder,
    receipt: string,
    received: readonly CountedLine[],
    invoice: {
      number: string
      lines: readonly CountedLine[]
    },
  ): MatchResult {
    const cost = (sku: string) => po.lines.find((l) => l.sku === sku)?.unitCost ?? 0
    const value = (lines: readonly CountedLine[]) => lines.reduce((s, l) => s + l.quantity * cost(l.sku), 0)
    const variance = round2(value(invoice.lines) - value(received))
    return {
      poNumber: po.poNumber,
      receipt,
      invoice: invoice.number,
      status: variance === 0 ? 'matched' : 'variance',
      variance,
    }
  }

  readonly app = new Hono()
    .get('/api/purchaseorders/changes', (c) => feedPage(c, this.changes))
    .get('/api/purchaseorders/:po', (c) => {
      const po = this.purchaseOrders.get(c.req.param('po'))
      return po ? c.json(po) : notFound(c, c.req.param('po'))
    })
    .post('/api/purchaseorders/:po/match', async (c) => {
      const key = idempotencyKeyOf(c)
      if (!key) return missingKey(c)
      const existing = this.matches.get(key)
      if (existing) return c.json(existing, 200)
      const po = this.purchaseOrders.get(c.req.param('po'))
      if (!po) return notFound(c, c.req.param('po'))
      const body = (await c.req.json().catch(() => undefined)) as
        | { receipt?: string; lines?: CountedLine[]; invoice?: { number: string; lines: CountedLine[] } }
        | undefined
      if (!body?.receipt || !Array.isArray(body.lines) || !body.invoice?.number)
        return c.json(
          {
            error: {
              code: 'VALIDATION_FAILED',
              message: 'a match names the receipt, its lines and the supplier invoice',
            },
          },
          422,
        )
      const result = this.match(po, body.receipt, body.lines, body.invoice)
      this.matches.set(key, result)
      return c.json(result, 201)
    })
    .post('/api/purchaseorders/:po/stock', async (c) => {
      const key = idempotencyKeyOf(c)
      if (!key) return missingKey(c)
      const existing = this.stocked.get(key)
      if (existing) return c.json(existing, 200)
      const po = this.purchaseOrders.get(c.req.param('po'))
      if (!po) return notFound(c, c.req.param('po'))
      const body = (await c.req.json().catch(() => undefined)) as
        | { receipt?: string; lines?: CountedLine[] }
        | undefined
      if (!body?.receipt || !Array.isArray(body.lines))
        return c.json(
          { error: { code: 'VALIDATION_FAILED', message: 'receipt and lines are required' } },
          422,
        )
      for (const line of body.lines) {
        const at = `${line.sku}@${po.location}`
        const onHand = (this.onHand.get(at) ?? 20) + line.quantity
        this.onHand.set(at, onHand)
        this.adjustStock(line.sku, po.location, onHand)
      }
      const stocked = { poNumber: po.poNumber, receipt: body.receipt }
      this.stocked.set(key, stocked)
      return c.json(stocked, 201)
    })
}

/** The suppliers the demo buys from; their behaviour on the portal is set in the estate. */
export const SUPPLIERS = ['ACME-HOME', 'NORTHWIND', 'GLOBEX'] as const
const WAREHOUSES = ['DC-NORTH', 'DC-SOUTH']

/**
 * Replenishment: the purchase orders the ERP raises, deterministic for the seed, numbered with the
 * run (estate/run.ts) so that no two runs share one, for SKUs of the range the storefront sells.
 */
export class ReplenishmentPlanner {
  private n = 0
  private readonly random: () => number

  constructor(
    seed: number,
    readonly run: string,
  ) {
    this.random = seededRandom(seed)
  }

  nextPurchaseOrder(supplier?: string): PurchaseOrder {
    const n = this.n++
    const lineCount = 1 + Math.floor(this.random() * 3)
    const skus = new Set<string>()
    while (skus.size < lineCount) skus.add(`SKU-${10_000 + Math.floor(this.random() * 500)}`)
    return {
      poNumber: `PO-${this.run}-${String(n).padStart(4, '0')}`,
      supplier: supplier ?? (SUPPLIERS[Math.floor(this.random() * SUPPLIERS.length)] as string),
      location: WAREHOUSES[n % WAREHOUSES.length] as string,
      currency: 'GBP',
      lines: [...skus].map((sku) => ({
        sku,
        quantity: 12 * (1 + Math.floor(this.random() * 8)),
        unitCost: Math.round((2 + this.random() * 60) * 100) / 100,
      })),
      createdAt: new Date().toISOString(),
    }
  }
}
