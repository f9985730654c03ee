import { createHmac } from 'node:crypto'
import { Hono } from 'hono'
import { z } from 'zod'
import { type Faults, faultInjection, NO_FAULTS, seededRandom } from './faults.ts'

const labelRequest = z.object({
  orderId: z.string().min(1),
  shipmentId: z.string().min(1),
  service: z.enum(['standard', 'express']).default('standard'),
})

/** The statuses a parcel reports, in the order a delivery goes through them (`exception` aside). */
export const TRACKING_STATUSES = ['in_transit', 'out_for_delivery', 'delivered', 'exception'] as const
export type TrackingStatus = (typeof TRACKING_STATUSES)[number]
const ROUTE: readonly TrackingStatus[] = ['in_transit', 'out_for_delivery', 'delivered']

/** One tracking webhook, as the carrier posts it (config/webhooks.yaml, source `carrier`). */
export interface TrackingUpdate {
  readonly id: string
  readonly event: 'tracking.updated'
  readonly tracking_number: string
  readonly status: TrackingStatus
  /** Ours, printed on the label: the order, and the warehouse's shipment. */
  readonly reference: string
  readonly shipment_reference: string
  readonly occurred_at: string
  readonly detail: string
}

/** The carrier's own troubles, besides its label API's (`faults`). */
export interface TrackingFaults {
  /** Share of deliveries whose `delivered` webhook is never sent: the parcel arrived, nobody says so. */
  missedConfirmationRate: number
  /** Share of tracking steps that go wrong first (`exception`: address not found, no one home). */
  exceptionRate: number
  /** Every webhook goes out this late (ms), its `occurred_at` still the moment it happened. */
  delayMs: number
}

export const NO_TRACKING_FAULTS: TrackingFaults = Object.freeze({
  missedConfirmationRate: 0,
  exceptionRate: 0,
  delayMs: 0,
})

interface Parcel {
  readonly trackingNumber: string
  readonly orderId: string
  readonly shipmentId: string
  /** How far along ROUTE it is: -1 labelled, not yet collected. */
  step: number
}

/**
 * The parcel carrier: a label per shipment when the warehouse ships (idempotent by shipment), then
 * tracking updates pushed as signed webhooks — `in_transit`, `out_for_delivery`, `delivered`, and
 * `exception` when a step goes wrong — to whoever subscribed (the demo: Signalbox's
 * `/v1/webhooks/carrier`). A delivery is signed HMAC-SHA256 (hex) of its body in `X-Carrier-Signature`.
 */
export class CarrierSimulator {
  faults: Faults = { ...NO_FAULTS }
  tracking: TrackingFaults = { ...NO_TRACKING_FAULTS }
  readonly random: () => number
  readonly parcels = new Map<string, Parcel>()
  /** Where tracking webhooks go, and the secret they are signed with. */
  subscription: { url: string; secret: string } | undefined
  /** Webhooks waiting to go out (late tracking, or a subscriber that did not take them). */
  private readonly outbox: Array<{ update: TrackingUpdate; dueAt: number; attempts: number }> = []
  /** Every webhook the carrier made, sent or not (tests). */
  readonly updates: TrackingUpdate[] = []
  private nextUpdate = 1

  constructor(seed = 15) {
    this.random = seededRandom(seed)
  }

  /** Moves every collected parcel one step on, then sends the webhooks that are due. */
  async advance(now = Date.now()): Promise<TrackingUpdate[]> {
    const made: TrackingUpdate[] = []
    for (const p of this.parcels.values()) {
      if (p.step >= ROUTE.length - 1) continue
      if (this.random() < this.tracking.exceptionRate) {
        made.push(this.update(p, 'exception', now))
        continue
      }
      p.step++
      const status = ROUTE[p.step] as TrackingStatus
      const update = this.update(p, status, now)
      if (status === 'delivered' && this.random() < this.tracking.missedConfirmationRate) continue
      made.push(update)
    }
    for (const update of made) this.outbox.push({ update, dueAt: now + this.tracking.delayMs, attempts: 0 })
    await this.sendDue(now)
    return made
  }

  /** Sends what is due; a subscriber that refuses gets it again on the next advance (five tries). */
  async sendDue(now = Date.now()): Promise<void> {
    const sub = this.subscription
    if (!sub) return
    const due = this.outbox.filter((o) => o.dueAt <= now)
    for (const o of due) {
      this.outbox.splice(this.outbox.indexOf(o), 1)
      const body = JSON.stringify(o.update)
      const ok = await fetch(sub.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-carrier-delivery': o.update.id,
          'x-carrier-topic': o.update.event,
          'x-carrier-signature': createHmac('sha256', sub.secret).update(body).digest('hex'),
        },
        body,
      })
        .then(async (res) => {
          await res.arrayBuffer()
          return res.ok
        })
        .catch(() => false)
      if (!ok && ++o.attempts < 5) this.outbox.push(o)
    }
  }

  private update(p: Parcel, status: TrackingStatus, now: number): TrackingUpdate {
    const update: TrackingUpdate = {
      id: `trk_${p.trackingNumber}_${this.nextUpdate++}`,
      event: 'tracking.updated',
      tracking_number: p.trackingNumber,
      status,
      reference: p.orderId,
      shipment_reference: p.shipmentId,
      occurred_at: new Date(now).toISOString(),
      detail: DETAIL[status],
    }
    this.updates.push(update)
    return update
  }

  readonly app = new Hono()
    .use(faultInjection(this, 'carrier', (_, message) => ({ errors: [{ message }] })))
    .post('/v1/labels', async (c) => {
      const parsed = labelRequest.safeParse(await c.req.json().catch(() => undefined))
      if (!parsed.success)
        return c.json({ errors: [{ message: 'orderId and shipmentId are required' }] }, 400)
      const { orderId, shipmentId, service } = parsed.data
      const existing = this.parcels.get(shipmentId)
      const trackingNumber =
        existing?.trackingNumber ?? `PX${(1_000_000_000 + this.parcels.size * 7919).toString()}GB`
      if (!existing) this.parcels.set(shipmentId, { trackingNumber, orderId, shipmentId, step: -1 })
      return c.json(
        {
          carrier: 'parcelx',
          service,
          trackingNumber,
          label: `https://labels.parcelx.example/${trackingNumber}.pdf`,
        },
        existing ? 200 : 201,
      )
    })
}

const DETAIL: Record<TrackingStatus, string> = {
  in_transit: 'Parcel collected and on its way',
  out_for_delivery: 'Out for delivery today',
  delivered: 'Delivered, signed for',
  exception: 'Delivery attempt failed: no one home',
}
