import { Hono } from 'hono'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import type { Config } from '../../core/config.ts'
import { NotFoundError } from '../../core/errors.ts'
import type { FlowDefinition } from '../../core/flows.ts'
import { priceStates } from '../../core/price-states.ts'
import { CONFLICT_KINDS, PRICE_FLOW, priceConflicts, priceDeadlineMs } from '../../core/prices.ts'
import type { Store } from '../../store/client.ts'
import {
  currentPriceConflicts,
  priceEvents,
  publishedChannels,
  unitsSold,
} from '../../store/queries/prices.ts'
import { lookback, params, query, wholeNumber } from '../params.ts'
import { type ApiEnv, policy, scoped } from '../policy.ts'
import { conflictView, priceView, soldBySkuAndChannel } from '../prices.ts'

/**
 * `GET /prices/conflicts`: every SKU whose channels disagree with the source of truth past the
 * deadline; `GET /prices/:sku?priceList=`: one SKU's price and promotions as each channel was told them.
 */
export function priceRoutes(
  store: Store,
  flows: ReadonlyMap<string, FlowDefinition>,
  config: Pick<Config, 'query'>,
) {
  const deadlineMs = priceDeadlineMs(flows)
  const skuParams = z.object({ sku: z.string().min(1).max(200) })
  const skuQuery = z.object({
    priceList: z.string().min(1).max(200).optional().describe('One price list only'),
  })
  const listQuery = z.object({
    channel: z.string().min(1).max(200).optional().describe('One channel only'),
    limit: wholeNumber(1, 1000)
      .optional()
      .describe('At most this many conflicts, oldest first (default 200)'),
  })
  return new Hono<ApiEnv>()
    .get(
      '/prices/conflicts',
      describeRoute({
        tags: ['prices'],
        summary: 'Price and promotion conflicts across SKUs',
        description:
          'Channels showing another price than the effective one past the deadline, promotions live at the source of truth but missing from a channel they target, and channels still discounting after a promotion ended; oldest first, with the revenue at risk.',
        responses: { 200: { description: 'The conflicts' } },
      }),
      // Narrowed to the SKUs the scope sees and the channels it covers.
      policy({ role: 'support', scope: 'narrowed' }),
      query(listQuery),
      async (c) => {
        const { channel, limit = 200 } = c.req.valid('query')
        const visible = scoped(c)
        const now = Date.now()
        const found = (await currentPriceConflicts(store, now, deadlineMs)).filter(
          (x) => (!channel || x.channel === channel) && visible.channel(x.channel),
        )
        // A scope without the price flow sees none; only then are the SKUs checked one by one.
        const inFlow = visible.flow(PRICE_FLOW) ? found : []
        const seen = await visible.entities(inFlow.map((x) => ({ type: 'sku', id: x.sku })))
        const all = inFlow.filter((x) => seen({ type: 'sku', id: x.sku })).sort((a, b) => a.since - b.since)
        const shown = all.slice(0, limit)
        const earliest = Math.min(now, ...shown.map((x) => x.since))
        const sold = await unitsSold(
          store,
          [...new Set(shown.map((x) => x.sku))],
          new Date(earliest),
          new Date(now),
        )
        const soldBy = soldBySkuAndChannel(sold)
        return c.json({
          deadlineMs,
          total: all.length,
          byKind: Object.fromEntries(CONFLICT_KINDS.map((k) => [k, all.filter((x) => x.kind === k).length])),
          conflicts: shown.map((x) => conflictView(x, soldBy)),
        })
      },
    )
    .get(
      '/prices/:sku',
      describeRoute({
        tags: ['prices'],
        summary: 'A SKU’s price and promotions at the source of truth and as each channel was told them',
        description:
          'Per price list: price changes and promotions over time, what each channel was last told and when, the publication lag of the price expected now, and each channel’s conflict with the revenue at risk.',
        responses: {
          200: { description: 'The SKU per price list' },
          404: { description: 'No price events' },
        },
      }),
      // The SKU is checked against the scope first; a token scoped to channels then sees the source
      // of truth and what its channels were told.
      policy({ role: 'support', scope: { entity: 'sku', id: 'sku', narrowed: true } }),
      params(skuParams),
      query(skuQuery),
      async (c) => {
        const { priceList } = c.req.valid('query')
        const sku = c.req.valid('param').sku
        const visible = scoped(c)
        const now = Date.now()
        const { from, to } = lookback(config, now)
        const states = priceStates(await priceEvents(store, sku, from, to)).filter(
          (s) => s.sku === sku && (!priceList || s.priceList === priceList),
        )
        if (states.length === 0)
          throw new NotFoundError(
            `no price events for SKU ${sku}${priceList ? ` on price list ${priceList}` : ''}`,
          )
        const listed = new Map<string, string[]>()
        for (const r of await publishedChannels(store, from, to))
          listed.set(r.price_list, [...(listed.get(r.price_list) ?? []), r.channel])
        const conflicts = states.flatMap((s) => priceConflicts(s, now, deadlineMs, listed.get(s.priceList)))
        const earliest = Math.min(now, ...conflicts.map((x) => x.since))
        const sold =
          conflicts.length > 0 ? await unitsSold(store, [sku], new Date(earliest), new Date(now)) : []
        return c.json({
          sku,
          deadlineMs,
          priceLists: states.map((s) => {
            const v = priceView(s, now, deadlineMs, sold, listed.get(s.priceList))
            return {
              ...v,
              channels: v.channels.filter((ch) => visible.channel(ch.channel)),
              publications: v.publications.filter((p) => visible.channel(p.channel)),
            }
          }),
        })
      },
    )
}
