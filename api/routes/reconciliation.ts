import { Hono } from 'hono'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import { type BatchConfig, businessDayBounds, businessDayOf, dayClosed } from '../../core/batches.ts'
import { DAY_MS } from '../../core/duration.ts'
import type { Store } from '../../store/client.ts'
import { reconciliationTotals, unmatchedEntities } from '../../store/queries/reconciliation.ts'
import { EARLIEST, LATEST, query, wholeNumber } from '../params.ts'
import { type ApiEnv, policy, scoped } from '../policy.ts'
import { channelTotals, unmatchedView } from '../reconciliation.ts'

const ORDERS_FLOW = 'order_to_cash'
const REFUND_STAGES: readonly string[] = ['refunded', 'credited', 'unmatched_refunds']
const RETURNS_FLOW = 'return_to_refund'
/** Postings, invoices and credit memos of a day's entities are looked for this long after it. */
const FOLLOW_UP_MS = 31 * DAY_MS

/**
 * `GET /reconciliation?day=&channel=`: what finance needs before closing a business day: per channel,
 * orders captured vs posted to the ERP vs invoiced and refunds issued vs credit memos posted (count and
 * amount per currency), and the entities that do not match, linked to their lifecycles.
 */
export function reconciliationRoutes(store: Store, batches: BatchConfig) {
  const schema = z.object({
    day: z.iso
      .date({ error: 'a business day such as 2026-11-30' })
      // The store holds times from 1970 to 2261 only.
      .refine(
        (d) => Date.parse(d) >= EARLIEST.getTime() && Date.parse(d) < LATEST.getTime() - 40 * DAY_MS,
        'a day from 1970 to 2261',
      )
      .optional()
      .describe('The business day (YYYY-MM-DD, in the time zone of batches.yaml); default: today'),
    channel: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('One sales channel only (web, app, marketplace, pos…)'),
    limit: wholeNumber(1, 5000)
      .optional()
      .describe('At most this many unmatched entities, oldest first (default 500)'),
  })
  return new Hono<ApiEnv>().get(
    '/reconciliation',
    describeRoute({
      tags: ['reconciliation'],
      summary:
        'A business day’s reconciliation per channel: captured vs posted vs invoiced, refunds vs credit memos',
      description:
        'For the orders captured on the day: how many and how much were posted to the ERP, invoiced and cancelled; for the refunds issued on the day: how many were credited in the ERP. Amounts per currency, never summed across currencies. Unmatched entities (not posted, posted with another amount or currency, refunds without or with a different credit memo) are listed with a link to their lifecycle. `closed` says whether the day ended longer ago than batches.yaml’s day_closes_after.',
      responses: { 200: { description: 'The reconciliation' } },
    }),
    // Narrowed to the channels and flows the scope covers.
    policy({ role: 'support', scope: 'narrowed' }),
    query(schema),
    async (c) => {
      const now = Date.now()
      const { day = businessDayOf(now, batches.timezone), channel, limit = 500 } = c.req.valid('query')
      const visible = scoped(c)
      const { start, end } = businessDayBounds(day, batches.timezone)
      const window = {
        from: new Date(start),
        to: new Date(end),
        until: new Date(Math.min(end + FOLLOW_UP_MS, now + DAY_MS)),
        channel,
      }
      const seesChannel = (ch: string) => visible.channel(ch)
      const seesEntity = (type: 'order' | 'return') =>
        visible.flow(type === 'order' ? ORDERS_FLOW : RETURNS_FLOW)
      const out = channel !== undefined && !visible.channel(channel)
      const [totals, unmatched] = out
        ? [[], []]
        : await Promise.all([reconciliationTotals(store, window), unmatchedEntities(store, window, limit)])
      // Totals are per channel and flow; a scope limited to systems cannot be told apart in them, so
      // it sees only the unmatched entities its systems touched.
      const bySystem = visible.scope.systems !== undefined
      const shownTotals = bySystem
        ? []
        : totals.filter(
            (t) => seesChannel(t.channel) && seesEntity(REFUND_STAGES.includes(t.stage) ? 'return' : 'order'),
          )
      const seen = await visible.entities(unmatched.map((r) => ({ type: r.entity_type, id: r.id })))
      const rows = unmatched.filter(
        (r) => seesChannel(r.channel) && seesEntity(r.entity_type) && seen({ type: r.entity_type, id: r.id }),
      )
      const channels = channelTotals(shownTotals)
      const total = bySystem ? rows.length : channels.reduce((n, ch) => n + ch.unmatched, 0)
      return c.json({
        day,
        timezone: batches.timezone,
        from: window.from.toISOString(),
        to: window.to.toISOString(),
        closed: dayClosed(day, batches, now),
        channels,
        unmatchedTotal: total,
        unmatched: rows.map(unmatchedView),
      })
    },
  )
}
