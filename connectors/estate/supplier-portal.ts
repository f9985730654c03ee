import { Hono } from 'hono'
import { type Faults, faultInjection, NO_FAULTS, seededRandom } from './faults.ts'
import { feedPage } from './feed.ts'
import type { PurchaseOrder } from './purchasing.ts'

export interface CountedLine {
  readonly sku: string
  readonly quantity: number
}

/** How a supplier behaves on the portal. */
export interface SupplierBehaviour {
  /** Acknowledges this long after the order reaches the portal. */
  readonly ackAfterMs: number
  /** Share of orders acknowledged late, `lateByMs` after the usual time. */
  readonly lateRate?: number
  readonly lateByMs?: number
  /** Share of orders never acknowledged: the supplier ships them unannounced. */
  readonly missingAckRate?: number
  /** Ships this long after acknowledging (or after the order arrived, when it never acknowledges). */
  readonly shipAfterMs: number
  /** Share of shipments with one line short, over, or a substitute item in its place. */
  readonly discrepancyRate: number
  /** Share of ASNs that state a line other than what the truck holds. */
  readonly asnErrorRate: number
}

/** What the truck holds and what the ASN says it holds, when a test wants them exactly. */
export interface ShipmentPlan {
  readonly lines: readonly CountedLine[]
  readonly asnLines: readonly CountedLine[]
}

/** One entry of the portal's event feed: the supplier acknowledged an order, or shipped it (ASN). */
export type PortalEvent =
  | {
      readonly id: number
      readonly kind: 'acknowledged'
      readonly poNumber: string
      readonly supplier: string
      readonly promisedAt: string
      readonly at: string
    }
  | {
      readonly id: number
      readonly kind: 'shipped'
      readonly poNumber: string
      readonly supplier: string
      readonly asn: string
      readonly lines: readonly CountedLine[]
      readonly at: string
    }

/** An event before the feed gives it its id and time (each member of the union on its own). */
type Unstamped<E> = E extends PortalEvent ? Omit<E, 'id' | 'at'> : never

/** Goods on their way to the warehouse: what physically arrives, whatever the ASN said. */
export interface Delivery {
  readonly poNumber: string
  readonly asn: string
  readonly location: string
  readonly lines: readonly CountedLine[]
}

interface PortalOrder {
  readonly po: PurchaseOrder
  readonly arrivedAt: number
  /** When the supplier acknowledges it; null: it never will. */
  readonly ackDueAt: number | null
  acknowledgedAt?: number
  shipped?: { readonly asn: string; readonly asnLines: readonly CountedLine[] }
}

export const RELIABLE: SupplierBehaviour = {
  ackAfterMs: 0,
  shipAfterMs: 0,
  discrepancyRate: 0,
  asnErrorRate: 0,
}

/**
 * The suppliers' portal: purchase orders are sent to it (`POST /api/portal/orders`, once per order
 * number); each supplier acknowledges and ships on its own schedule — late, or shipping without ever
 * acknowledging — and its advance shipping notice may disagree with what the truck holds. An event
 * feed lists acknowledgements and ASNs; the supplier's invoice bills what its ASN said.
 */
export class SupplierPortalSimulator {
  faults: Faults = { ...NO_FAULTS }
  readonly random: () => number
  /** Per supplier; a supplier not listed behaves like `fallback`. */
  readonly suppliers = new Map<string, SupplierBehaviour>()
  fallback: SupplierBehaviour = RELIABLE
  /** Exactly what to ship for an order (tests); otherwise the supplier's rates decide. */
  readonly plans = new Map<string, ShipmentPlan>()
  /** Called with what physically leaves for the warehouse. */
  onShipped: (delivery: Delivery) => void = () => undefined
  readonly orders = new Map<string, PortalOrder>()
  private readonly events: PortalEvent[] = []
  private readonly firstEventId = Date.now()
  private asns = 0

  constructor(seed = 9) {
    this.random = seededRandom(seed)
  }

  private behaviourOf(supplier: string): SupplierBehaviour {
    return this.suppliers.get(supplier) ?? this.fallback
  }

  private push(event: Unstamped<PortalEvent>): void {
    this.events.push({
      ...event,
      id: this.firstEventId + this.events.length,
      at: new Date().toISOString(),
    } as PortalEvent)
  }

  /** When a supplier will acknowledge an order that reached the portal now: on time, late, or never. */
  private ackDue(supplier: string, now: number): number | null {
    const b = this.behaviourOf(supplier)
    if (this.random() < (b.missingAckRate ?? 0)) return null
    const late = this.random() < (b.lateRate ?? 0) ? (b.lateByMs ?? 0) : 0
    return now + b.ackAfterMs + late
  }

  /** What the supplier ships: the order, but for the one line its rates (or a test's plan) change. */
  private shipment(po: PurchaseOrder, b: SupplierBehaviour): ShipmentPlan {
    const planned = this.plans.get(po.poNumber)
    if (planned) return planned
    const lines = po.lines.map(({ sku, quantity }) => ({ sku, quantity }))
    const i = Math.floor(this.random() * lines.length)
    const line = lines[i] as CountedLine
    if (this.random() < b.discrepancyRate) {
      const kind = this.random()
      if (kind < 0.5)
        lines[i] = { ...line, quantity: Math.max(0, line.quantity - 1 - Math.floor(line.quantity / 4)) }
      else if (kind < 0.8) lines[i] = { ...line, quantity: line.quantity + 2 }
      else lines[i] = { sku: `${line.sku}-ALT`, quantity: line.quantity }
    }
    const asnLines =
      this.random() < b.asnErrorRate
        ? po.lines.map(({ sku, quantity }, j) => ({ sku, quantity: j === i ? quantity + 3 : quantity }))
        : lines
    return { lines, asnLines }
  }

  /** Moves each open order on as its supplier would (the demo calls it on a timer, tests directly). */
  advance(now = Date.now()): PortalEvent[] {
    const before = this.events.length
    for (const o of this.orders.values()) {
      if (o.shipped) continue
      const b = this.behaviourOf(o.po.supplier)
      if (o.acknowledgedAt === undefined && o.ackDueAt !== null && now >= o.ackDueAt) {
        o.acknowledgedAt = now
        const promisedAt = new Date(now + Math.max(b.shipAfterMs, 60_000)).toISOString()
        this.push({ kind: 'acknowledged', poNumber: o.po.poNumber, supplier: o.po.supplier, promisedAt })
      }
      const shipFrom = o.ackDueAt === null ? o.arrivedAt + b.ackAfterMs : o.acknowledgedAt
      if (shipFrom === undefined || now < shipFrom + b.shipAfterMs) continue
      const { lines, asnLines } = this.shipment(o.po, b)
      const asn = `ASN-${o.po.poNumber}-${++this.asns}`
      o.shipped = { asn, asnLines }
      this.push({ kind: 'shipped', poNumber: o.po.poNumber, supplier: o.po.supplier, asn, lines: asnLines })
      this.onShipped({ poNumber: o.po.poNumber, asn, location: o.po.location, lines })
    }
    return this.events.slice(before)
  }

  readonly app = new Hono()
    .use(faultInjection(this, 'supplier portal'))
    .post('/api/portal/orders', async (c) => {
      const po = (await c.req.json().catch(() => undefined)) as PurchaseOrder | undefined
      if (!po?.poNumber || !po.supplier || !Array.isArray(po.lines) || po.lines.length === 0)
        return c.json({ error: 'an order names its number, supplier and lines' }, 400)
      const existing = this.orders.get(po.poNumber)
      if (existing) return c.json({ portalRef: `PRT-${po.poNumber}` }, 200)
      this.orders.set(po.poNumber, {
        po,
        arrivedAt: Date.now(),
        ackDueAt: this.ackDue(po.supplier, Date.now()),
      })
      return c.json({ portalRef: `PRT-${po.poNumber}` }, 201)
    })
    .get('/api/portal/events', (c) => feedPage(c, this.events))
    .get('/api/portal/asns/:po', (c) => {
      const shipped = this.orders.get(c.req.param('po'))?.shipped
      if (!shipped) return c.json({ error: `no ASN for ${c.req.param('po')}` }, 404)
      return c.json({ poNumber: c.req.param('po'), asn: shipped.asn, lines: shipped.asnLines })
    })
    // The supplier bills what its ASN said it shipped.
    .get('/api/portal/invoices/:po', (c) => {
      const shipped = this.orders.get(c.req.param('po'))?.shipped
      if (!shipped) return c.json({ error: `no invoice for ${c.req.param('po')} yet` }, 404)
      return c.json({ number: `INV-${shipped.asn}`, poNumber: c.req.param('po'), lines: shipped.asnLines })
    })
}
