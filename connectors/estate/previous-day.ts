import { CloudEvent } from 'cloudevents'
import { businessDayBounds, businessDayOf, dayClosed } from '../../core/batches.ts'
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../core/duration.ts'

/**
 * The business day the demo did not see: the last closed one (as config/demo/batches.yaml closes
 * them: days in UTC, closed 6 hours after they end), its evening's orders told as the order-to-cash
 * connector told them then. One of them never reached the ERP — captured in the ERP's nightly
 * maintenance window — so finance's close finds it unmatched, and the `unreconciled` rule has a closed
 * day to raise: a demo only minutes old has no closed day of its own.
 */
export const DEMO_BUSINESS_DAYS = { timezone: 'UTC', dayClosesAfterMs: 6 * HOUR_MS } as const

const CHANNELS = ['web', 'marketplace', 'pos', 'app'] as const
const SKUS = ['SKU-1001', 'SKU-1002', 'SKU-1003', 'SKU-1004']
/** Orders in the tail of the day, and which of them the ERP never received. */
const ORDERS = 8
const UNPOSTED = 6

export interface PreviousDay {
  readonly day: string
  readonly orders: readonly string[]
  /** The order captured but never posted to the ERP. */
  readonly unposted: string
}

/** The last business day closed at `nowMs`. */
export function lastClosedDay(nowMs: number): string {
  let day = businessDayOf(nowMs - DAY_MS, DEMO_BUSINESS_DAYS.timezone)
  while (!dayClosed(day, DEMO_BUSINESS_DAYS, nowMs))
    day = businessDayOf(
      businessDayBounds(day, DEMO_BUSINESS_DAYS.timezone).start - DAY_MS / 2,
      DEMO_BUSINESS_DAYS.timezone,
    )
  return day
}

/**
 * Sends the previous day's orders (a CloudEvents batch): each completed end to end but the unposted
 * one, which stops at `inventory_reserved`. Ids carry the run, so a restart tells its own.
 */
export async function tellPreviousDay(
  collectorUrl: string,
  options: { run: string; source: string; connector: string; headers?: Record<string, string> },
  nowMs = Date.now(),
): Promise<PreviousDay> {
  const day = lastClosedDay(nowMs)
  const { end } = businessDayBounds(day, DEMO_BUSINESS_DAYS.timezone)
  const events: CloudEvent<unknown>[] = []
  const orders: string[] = []
  for (let i = 0; i < ORDERS; i++) {
    const orderId = `SO-${options.run}-D${String(i + 1).padStart(4, '0')}`
    orders.push(orderId)
    const channel = CHANNELS[i % CHANNELS.length] as (typeof CHANNELS)[number]
    const pickup = channel === 'pos'
    const lines = [{ sku: SKUS[i % SKUS.length] as string, quantity: 1 + (i % 3), unitPrice: 24.5 }]
    const total = lines.reduce((s, l) => s + l.quantity * l.unitPrice, 0)
    // Through the evening, the last ones in the ERP's nightly window before midnight.
    const capturedAt = end - (ORDERS - i) * 25 * MINUTE_MS
    const at = (minutes: number) => new Date(capturedAt + minutes * MINUTE_MS).toISOString()
    const stages: Array<[type: string, minutes: number, data: Record<string, unknown>]> = [
      ['created', 0, { channel, fulfilment: pickup ? 'pickup' : 'ship', total, currency: 'GBP', lines }],
      ['payment_authorized', 0.2, { authorizationId: `auth_${orderId.toLowerCase()}`, amount: total }],
      ['inventory_reserved', 0.4, { reservation: `RES-${orderId}`, lines }],
    ]
    if (i !== UNPOSTED)
      stages.push(
        ['erp_posted', 1, { salesOrder: `SO-ERP-${orderId}`, total }],
        [pickup ? 'ready_for_pickup' : 'shipped', 15, { shipment: `SHP-${orderId}` }],
        ['invoiced', 16, { invoice: `INV-${orderId}` }],
        [pickup ? 'picked_up' : 'delivered', 20, { shipment: `SHP-${orderId}` }],
      )
    for (const [stage, minutes, data] of stages)
      events.push(
        new CloudEvent({
          specversion: '1.0',
          id: `${orderId}:previous-day:${stage}`,
          source: options.source,
          type: `retail.order.${stage}`,
          subject: orderId,
          time: at(minutes),
          datacontenttype: 'application/json',
          data,
          connector: options.connector,
          flow: 'order_to_cash',
        }),
      )
  }
  const res = await fetch(`${collectorUrl}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents-batch+json', ...options.headers },
    body: JSON.stringify(events),
  })
  await res.arrayBuffer()
  if (!res.ok) throw new Error(`the collector answered ${res.status}`)
  return { day, orders, unposted: orders[UNPOSTED] as string }
}
