import { Hono } from 'hono'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import type { Config } from '../../core/config.ts'
import { NotFoundError } from '../../core/errors.ts'
import type { Store } from '../../store/client.ts'
import { inventoryEvents } from '../../store/queries/inventory.ts'
import { inventoryView } from '../inventory.ts'
import { lookback, params, query } from '../params.ts'
import { type ApiEnv, policy, scoped } from '../policy.ts'

/** `GET /inventory/:sku?location=`: stock at the source of truth and as each channel was told it. */
export function inventoryRoutes(store: Store, config: Pick<Config, 'query'>) {
  const schema = z.object({ location: z.string().min(1).max(200).optional().describe('One location only') })
  const skuParams = z.object({ sku: z.string().min(1).max(200) })
  const describe = describeRoute({
    tags: ['inventory'],
    summary: 'Stock at the source of truth and as each channel was told it',
    description:
      'Per location: stock changes, reservations, what each channel was last told and when, the publication lag of the latest change, drift per channel and oversell risk.',
    responses: { 200: { description: 'The SKU per location' }, 404: { description: 'No stock events' } },
  })
  // The SKU is checked against the scope first; then each stock event, so a token scoped to channels
  // sees the source of truth and what its channels were told, and reservations of orders it sees.
  const declared = policy({ role: 'support', scope: { entity: 'sku', id: 'sku', narrowed: true } })
  return new Hono<ApiEnv>().get(
    '/inventory/:sku',
    describe,
    declared,
    params(skuParams),
    query(schema),
    async (c) => {
      const { location } = c.req.valid('query')
      const id = c.req.valid('param').sku
      const now = Date.now()
      const { from, to } = lookback(config, now)
      const all = await inventoryEvents(store, id, location, from, to)
      const visible = scoped(c)
      const rows = await visible.events(all)
      if (rows.length === 0)
        throw new NotFoundError(`no stock events for SKU ${id}${location ? ` at ${location}` : ''}`)
      const locations = [...new Set(rows.map((r) => r.location))].sort()
      const views = locations.map((l) => inventoryView(l, rows, now))
      return c.json({
        sku: id,
        locations: views.map((v) => ({
          ...v,
          channels: v.channels.filter((ch) => visible.channel(ch.channel)),
        })),
      })
    },
  )
}
