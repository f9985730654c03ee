import { Hono } from 'hono'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import type { Config } from '../../core/config.ts'
import { DISCREPANCY_KINDS } from '../../core/receipts.ts'
import type { Store } from '../../store/client.ts'
import { latestPurchaseOrderEvents, receiptsWithDiscrepancies } from '../../store/queries/purchase-orders.ts'
import { lookback, query, wholeNumber } from '../params.ts'
import { type ApiEnv, policy, scoped } from '../policy.ts'
import { discrepancyRow, receiptView } from '../receipts.ts'

/** The entity type of purchase orders (a scope sees them through the flows that follow it). */
export const PURCHASE_ORDER_ENTITY = 'purchase_order'

/** How many receipts with a discrepancy one list reads at most, before narrowing and filters. */
const RECEIPTS_READ = 2000

/**
 * `GET /purchase-orders/discrepancies`: goods receipts that disagree with their purchase order (short,
 * over, a wrong item) or with the supplier's ASN, newest first, with the value at stake.
 */
export function purchaseOrderRoutes(store: Store, config: Pick<Config, 'query'>) {
  const listQuery = z.object({
    kind: z.enum(DISCREPANCY_KINDS).optional().describe('One kind of discrepancy only'),
    supplier: z.string().min(1).max(200).optional().describe('One supplier only'),
    limit: wholeNumber(1, 1000)
      .optional()
      .describe('At most this many discrepancies, newest first (default 200)'),
  })
  return new Hono<ApiEnv>().get(
    '/purchase-orders/discrepancies',
    describeRoute({
      tags: ['purchase orders'],
      summary: 'Goods receipts that disagree with their purchase order or ASN',
      description:
        'Each received line counted short, over or not on the order (a wrong item), or matching the order but not the supplier’s advance shipping notice; newest first, with the ordered, shipped and received quantities, the value at the order’s unit cost, and how far the purchase order has got since.',
      responses: { 200: { description: 'The discrepancies' } },
    }),
    // Narrowed to the purchase orders the scope sees (by flow and by the systems that touched them).
    policy({ role: 'support', scope: 'narrowed' }),
    query(listQuery),
    async (c) => {
      const { kind, supplier, limit = 200 } = c.req.valid('query')
      const visible = scoped(c)
      const { from, to } = lookback(config)
      const receipts = (await receiptsWithDiscrepancies(store, from, to, RECEIPTS_READ)).map(receiptView)
      const seen = await visible.entities(
        receipts.map((r) => ({ type: PURCHASE_ORDER_ENTITY, id: r.purchaseOrder })),
      )
      const shown = receipts.filter(
        (r) =>
          seen({ type: PURCHASE_ORDER_ENTITY, id: r.purchaseOrder }) &&
          (!supplier || r.supplier === supplier),
      )
      const all = shown.flatMap((r) =>
        r.discrepancies.filter((d) => !kind || d.kind === kind).map((d) => ({ r, d })),
      )
      const page = all.slice(0, limit)
      const latest = await latestPurchaseOrderEvents(
        store,
        page.map((x) => x.r.purchaseOrder),
        from,
        to,
      )
      return c.json({
        total: all.length,
        byKind: Object.fromEntries(
          DISCREPANCY_KINDS.map((k) => [k, all.filter((x) => x.d.kind === k).length]),
        ),
        discrepancies: page.map(({ r, d }) => discrepancyRow(r, d, latest.get(r.purchaseOrder))),
      })
    },
  )
}
