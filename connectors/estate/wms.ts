import { Hono } from 'hono'
import { z } from 'zod'
import { type Faults, faultInjection, NO_FAULTS, seededRandom } from './faults.ts'
import { feedPage } from './feed.ts'
import type { CountedLine, Delivery } from './supplier-portal.ts'

const releaseRequest = z.object({
  orderId: z.string().min(1),
  fulfilment: z.enum(['ship', 'pickup']),
  lines: z.array(z.object({ sku: z.string().min(1), quantity: z.number().int().positive() })).min(1),
})

type ReleaseState = 'released' | 'shipped' | 'ready_for_pickup' | 'delivered' | 'picked_up'

interface Release {
  readonly id: string
  readonly orderId: string
  readonly fulfilment: 'ship' | 'pickup'
  state: ReleaseState
  /** Waiting for a pick face to be replenished until then (epoch ms): the order does not move. */
  readonly heldUntil?: number
}

/** One step of a release, as the warehouse's event feed lists it. */
export interface WarehouseEvent {
  readonly id: number
  readonly orderId: string
  readonly shipmentId: string
  readonly kind: Exclude<ReleaseState, 'released'>
  readonly at: string
}

/** Goods in: a supplier's delivery as the warehouse counted it at the dock. */
export interface GoodsReceipt {
  readonly id: number
  readonly receipt: string
  readonly poNumber: string
  /** The ASN the driver handed over with the delivery. */
  readonly asn: string
  readonly location: string
  readonly lines: readonly CountedLine[]
  readonly at: string
}

// A shipped order is the carrier's from there (estate/carrier.ts): its delivery comes as tracking.
const NEXT: Record<'ship' | 'pickup', Partial<Record<ReleaseState, WarehouseEvent['kind']>>> = {
  ship: { released: 'shipped' },
  pickup: { released: 'ready_for_pickup', ready_for_pickup: 'picked_up' },
}

/**
 * The warehouse (and the stores, for pickup): accepts an order released for picking, once per
 * order, then moves it on — shipped (the carrier delivers it), or ready for pickup then picked up —
 * and lists each move in a cursor-paginated event feed.
 */
export class WmsSimulator {
  faults: Faults = { ...NO_FAULTS }
  readonly releases = new Map<string, Release>()
  readonly dispositions = new Map<string, 'restock' | 'dispose'>()
  /**
   * SKUs whose pick face is empty: a release with one of them is accepted, then waits this long for
   * replenishment before anyone picks it — the warehouse sits on the order.
   */
  readonly emptyPickFaces = new Set<string>()
  replenishmentMs = 10 * 60_000
  private readonly events: WarehouseEvent[] = []
  /** Deliveries at the dock, waiting to be counted. */
  readonly dock: Delivery[] = []
  private readonly receipts: GoodsReceipt[] = []
  private readonly firstReceiptId = Date.now()
  readonly random: () => number

  constructor(seed = 4) {
    this.random = seededRandom(seed)
  }

  /** Moves every open release one step on (the demo calls it on a timer, tests directly). */
  advance(): WarehouseEvent[] {
    const moved: WarehouseEvent[] = []
    const now = Date.now()
    for (const r of this.releases.values()) {
      const kind = NEXT[r.fulfilment][r.state]
      if (!kind || (r.heldUntil ?? 0) > now) continue
      r.state = kind
      const event = {
        id: this.events.length + 1,
        orderId: r.orderId,
        shipmentId: r.id,
        kind,
        at: new Date().toISOString(),
      }
      this.events.push(event)
      moved.push(event)
    }
    return moved
  }

  /** A supplier's delivery reaches the dock. */
  arrive(delivery: Delivery): void {
    this.dock.push(delivery)
  }

  /** Counts every delivery at the dock (what arrived, not what the ASN said) into a goods receipt. */
  receiveInbound(): GoodsReceipt[] {
    const counted: GoodsReceipt[] = []
    for (const d of this.dock.splice(0)) {
      const earlier = this.receipts.filter((r) => r.poNumber === d.poNumber).length
      const receipt: GoodsReceipt = {
        id: this.firstReceiptId + this.receipts.length,
        receipt: `GR-${d.poNumber}-${earlier + 1}`,
        poNumber: d.poNumber,
        asn: d.asn,
        location: d.location,
        lines: d.lines.filter((l) => l.quantity > 0),
        at: new Date().toISOString(),
      }
      this.receipts.push(receipt)
      counted.push(receipt)
    }
    return counted
  }

  readonly app = new Hono()
    .use(faultInjection(this, 'WMS'))
    .post('/outbound/releases', async (c) => {
      const parsed = releaseRequest.safeParse(await c.req.json().catch(() => undefined))
      if (!parsed.success)
        return c.json({ error: 'invalid release', issues: parsed.error.issues.map((i) => i.message) }, 400)
      const existing = this.releases.get(parsed.data.orderId)
      if (existing) return c.json(existing)
      const release: Release = {
        id: `SHP-${parsed.data.orderId}`,
        orderId: parsed.data.orderId,
        fulfilment: parsed.data.fulfilment,
        state: 'released',
        ...(parsed.data.lines.some((l) => this.emptyPickFaces.has(l.sku))
          ? { heldUntil: Date.now() + this.replenishmentMs }
          : {}),
      }
      this.releases.set(parsed.data.orderId, release)
      return c.json(release, 201)
    })
    // Returned goods: put back into stock, or written off.
    .post('/returns/dispositions', async (c) => {
      const body = (await c.req.json().catch(() => undefined)) as
        | { returnId?: unknown; action?: unknown }
        | undefined
      if (typeof body?.returnId !== 'string' || (body.action !== 'restock' && body.action !== 'dispose')) {
        return c.json({ error: 'returnId and an action of restock or dispose are required' }, 400)
      }
      this.dispositions.set(body.returnId, body.action)
      return c.json({ returnId: body.returnId, action: body.action })
    })
    .get('/outbound/events', (c) => feedPage(c, this.events))
    .get('/inbound/receipts', (c) => feedPage(c, this.receipts))
}
