import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RuleOfKind, ruleValues } from '../../alerts/rules.ts'
import { loadBatches } from '../../core/batches.ts'
import { loadFlows } from '../../core/flows.ts'
import { cloudEvent } from '../support/batches.ts'
import { sendEvents } from '../support/events.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

const HOUR = 3_600_000
const config = join(import.meta.dirname, '../../config')
// A business day three days ago (UTC, as config/batches.yaml says): long closed.
const dayStart = Date.parse(new Date(Date.now() - 3 * 24 * HOUR).toISOString().slice(0, 10))
const DAY = new Date(dayStart).toISOString().slice(0, 10)
const at = (hours: number) => dayStart + hours * HOUR

const created = (id: string, hours: number, channel: string, total: number, currency: string) =>
  cloudEvent('retail.order.created', id, at(hours), { channel, total, currency, lines: [] })
const order = (stage: string, id: string, hours: number, data: Record<string, unknown> = {}) =>
  cloudEvent(`retail.order.${stage}`, id, at(hours), data)
const ret = (stage: string, id: string, orderId: string, hours: number, data: Record<string, unknown>) =>
  cloudEvent(`retail.return.${stage}`, id, at(hours), data, { orderid: orderId })

let sb: TestSignalbox
beforeAll(async () => {
  sb = await startSignalbox()
  await sendEvents(sb.collectorUrl, [
    // web: two currencies; one order never posted.
    created('REC-1', 9, 'web', 100, 'GBP'),
    order('erp_posted', 'REC-1', 9.5, { salesOrder: 'SO-ERP-1', total: 100 }),
    order('invoiced', 'REC-1', 30, { invoice: 'INV-1' }),
    created('REC-2', 10, 'web', 50, 'EUR'),
    order('erp_posted', 'REC-2', 10.5, { salesOrder: 'SO-ERP-2', total: 50, currency: 'EUR' }),
    created('REC-3', 11, 'web', 20.1, 'GBP'),
    // marketplace: posted with another amount; pos: cancelled before posting (nothing to match).
    created('REC-4', 12, 'marketplace', 30, 'GBP'),
    order('erp_posted', 'REC-4', 12.5, { salesOrder: 'SO-ERP-4', total: 25 }),
    created('REC-5', 13, 'pos', 10, 'GBP'),
    order('cancelled', 'REC-5', 13.2),
    // The day before and the day after: not this day's.
    created('REC-0', -1, 'web', 999, 'GBP'),
    created('REC-9', 25, 'web', 999, 'GBP'),
    // Refunds issued on the day: one credited (its currency from its order), one not.
    ret('refund_issued', 'RET-1', 'REC-1', 14, { refund: 'RF-1', amount: 40 }),
    ret('credit_posted', 'RET-1', 'REC-1', 14.5, { creditMemo: 'CM-1', amount: 40 }),
    ret('refund_issued', 'RET-2', 'REC-2', 15, { refund: 'RF-2', amount: 10, currency: 'EUR' }),
  ])
})
afterAll(async () => {
  await sb?.close()
})

type Money = { currency: string; count: number; amount: number }
type Channel = {
  channel: string
  orders: Record<'captured' | 'posted' | 'invoiced' | 'cancelled' | 'unmatched', Money[]>
  refunds: Record<'issued' | 'credited' | 'unmatched', Money[]>
  unmatched: number
}
type Body = {
  day: string
  closed: boolean
  channels: Channel[]
  unmatchedTotal: number
  unmatched: Array<{
    entity: { type: string; id: string }
    reason: string
    lifecycle: string
    erp: Money | null
  }>
}
const get = async (query: string) => {
  const res = await fetch(`${sb.apiUrl}/api/reconciliation?${query}`)
  return { status: res.status, body: (await res.json()) as Body }
}

describe('GET /api/reconciliation', () => {
  it('reconciles a closed business day per channel and per currency, never summing across currencies', async () => {
    const { status, body } = await get(`day=${DAY}`)
    expect(status).toBe(200)
    expect(body).toMatchObject({ day: DAY, closed: true, unmatchedTotal: 3 })
    const web = body.channels.find((c) => c.channel === 'web')
    expect(web?.orders).toEqual({
      captured: [
        { currency: 'EUR', count: 1, amount: 50 },
        { currency: 'GBP', count: 2, amount: 120.1 },
      ],
      posted: [
        { currency: 'EUR', count: 1, amount: 50 },
        { currency: 'GBP', count: 1, amount: 100 },
      ],
      invoiced: [{ currency: 'GBP', count: 1, amount: 100 }],
      cancelled: [],
      unmatched: [{ currency: 'GBP', count: 1, amount: 20.1 }],
    })
    expect(web?.refunds).toEqual({
      issued: [
        { currency: 'EUR', count: 1, amount: 10 },
        { currency: 'GBP', count: 1, amount: 40 },
      ],
      credited: [{ currency: 'GBP', count: 1, amount: 40 }],
      unmatched: [{ currency: 'EUR', count: 1, amount: 10 }],
    })
    expect(web?.unmatched).toBe(2)
    const pos = body.channels.find((c) => c.channel === 'pos')
    expect(pos).toMatchObject({
      unmatched: 0,
      orders: { cancelled: [{ currency: 'GBP', count: 1, amount: 10 }] },
    })
  })

  it('lists the unmatched entities with why and a link to their lifecycles', async () => {
    const { body } = await get(`day=${DAY}`)
    expect(
      body.unmatched.map((u) => [u.entity.type, u.entity.id, u.reason, u.erp?.amount ?? null, u.lifecycle]),
    ).toEqual([
      ['order', 'REC-3', 'not_posted', null, '/api/orders/REC-3/lifecycle'],
      ['order', 'REC-4', 'amount_mismatch', 25, '/api/orders/REC-4/lifecycle'],
      ['return', 'RET-2', 'credit_not_posted', null, '/api/returns/RET-2/lifecycle'],
    ])
  })

  it('narrows to one channel', async () => {
    const { body } = await get(`day=${DAY}&channel=marketplace`)
    expect(body.channels.map((c) => c.channel)).toEqual(['marketplace'])
    expect(body.unmatched.map((u) => u.entity.id)).toEqual(['REC-4'])
  })

  it('refuses a day that is not one, and changes nothing', async () => {
    for (const q of ['day=yesterday', 'day=2026-13-01', 'limit=0']) expect((await get(q)).status, q).toBe(400)
  })

  it('unreconciled: a closed day with unmatched entities, per channel', async () => {
    const ctx = { store: sb.store, flows: loadFlows(config), batches: loadBatches(config) }
    const values = await ruleValues(
      ctx,
      { kind: 'unreconciled', settings: { above: 0, days: 7 } } as RuleOfKind,
      new Date(),
    )
    const ofDay = values.filter((v) => v.labels.day === DAY)
    expect(Object.fromEntries(ofDay.map((v) => [v.labels.channel, [v.value, v.over]]))).toEqual({
      web: [2, true],
      marketplace: [1, true],
    })
  })
})
