import { Hono } from 'hono'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import type { Config } from '../../core/config.ts'
import { NotFoundError } from '../../core/errors.ts'
import type { FlowDefinition } from '../../core/flows.ts'
import { PURCHASE_ORDER_EVENTS } from '../../core/vocabulary.ts'
import type { Store } from '../../store/client.ts'
import { entityHistory, linkedEntities } from '../../store/queries/entities.ts'
import { listExceptions } from '../../store/queries/exceptions.ts'
import { receiptsOf } from '../../store/queries/purchase-orders.ts'
import { listReplays } from '../../store/queries/replays.ts'
import { buildLifecycle, type TimelineEntry } from '../lifecycle.ts'
import { lookback, params } from '../params.ts'
import { type ApiEnv, policy, scoped } from '../policy.ts'
import { receiptView } from '../receipts.ts'
import type { Visibility } from '../visibility.ts'

const id = z.string().min(1).max(1024).describe('The entity id as the systems know it')
const idParams = z.object({ id })
const entityParams = z.object({
  type: z
    .string()
    .max(100)
    .describe('An entity type a configured flow follows: order, return, sku, purchase_order…'),
  id,
})

/**
 * `GET /entities/:type/:id/lifecycle`: where an entity of any configured flow is in it, and why;
 * `GET /orders/:id/lifecycle` and `GET /returns/:id/lifecycle` answer the same for orders and returns.
 */
export function lifecycleRoutes(
  store: Store,
  flows: ReadonlyMap<string, FlowDefinition>,
  config: Pick<Config, 'query'>,
) {
  const flowFor = (entity: string) => [...flows.values()].find((f) => f.entity === entity)

  const lifecycle = async (entity: string, id: string, visible: Visibility) => {
    const flow = flowFor(entity)
    if (!flow)
      throw new NotFoundError(
        `no flow is configured for ${entity.slice(0, 100)}s; flows follow ${[...new Set([...flows.values()].map((f) => f.entity))].join(', ')}`,
      )
    const now = Date.now()
    // Every read carries a time range: the entity's history over the widest range a read may ask for.
    const { from, to } = lookback(config, now)
    const rows = await entityHistory(store, entity, id, from, to)
    if (rows.length === 0) throw new NotFoundError(`${entity} ${id} not found`)
    const exceptions = await listExceptions(store, { entity: { type: entity, id }, limit: 100 })
    // A replay answers an exception, and a re-sync leaves its id on the rows it produced: without
    // either there is no replay to show, and the read is saved.
    const replays =
      exceptions.length > 0 || rows.some((r) => r.replay_id)
        ? await listReplays(store, { entity: { type: entity, id }, since: from, limit: 100 })
        : []
    const links = await visible.keepEntities(linkedEntities({ type: entity, id }, rows), (l) => [l])
    // A purchase order's goods receipts, read only when it has one: what was counted and what disagrees.
    const receipts = rows.some((r) => r.kind === 'event' && r.name === PURCHASE_ORDER_EVENTS.received)
      ? (await receiptsOf(store, id, from, to)).map(receiptView)
      : []
    const built = buildLifecycle(flow, rows, now)
    const exceptionEntries: TimelineEntry[] = exceptions.map((e) => ({
      at: `${e.last_seen.replace(' ', 'T')}Z`,
      kind: 'exception',
      system: e.error_class.split('.')[0] ?? '',
      name: `${e.step}: ${e.error_message}`,
      traceId: e.trace_id || null,
    }))
    // Each replay, linked to the failure it answered (the original trace) and to the trace it produced.
    const replayEntries: TimelineEntry[] = replays.map((r) => ({
      at: new Date(Number(r.requested_ms)).toISOString(),
      kind: 'replay',
      system: r.connector,
      name: `${r.kind} ${r.step} by ${r.requested_by}: ${r.status}${r.error ? ` (${r.error})` : ''}`,
      traceId: r.trace_id || r.original_trace_id || null,
      replayId: r.id,
    }))
    return {
      entity: { type: entity, id },
      ...built,
      // A return and its order, an order's returns, shipments and SKUs: named by the same events.
      links,
      receipts,
      timeline: [...built.timeline, ...exceptionEntries, ...replayEntries].sort((a, b) =>
        a.at.localeCompare(b.at),
      ),
      exceptions: exceptions.map((e) => ({
        id: e.id,
        status: e.status,
        step: e.step,
        stage: e.stage,
        error: { class: e.error_class, message: e.error_message },
        occurrences: Number(e.occurrences),
        lastSeen: `${e.last_seen.replace(' ', 'T')}Z`,
        traceId: e.trace_id,
      })),
    }
  }

  const describe = (entity: string, sameAs?: string) =>
    describeRoute({
      tags: ['lifecycles'],
      summary: `Where ${entity} is in its flow, and why${sameAs ? ` (the same as ${sameAs})` : ''}`,
      description:
        'Overall status; each stage (done, pending, late, failed, unconfirmed, overdue, skipped) with when and by which system it was reached, the delay from the stage before, whether it came out of order, twice, or by a replay; the merged timeline of events, spans, exceptions and replays; the open exceptions.',
      responses: {
        200: { description: 'The lifecycle' },
        404: { description: 'Nothing is known of the id, or no flow follows the entity type' },
      },
    })
  // The entity is checked against the scope before the handler runs; the entities it links to after.
  const read = (entity: string) => policy({ role: 'support', scope: { entity, id: 'id', narrowed: true } })
  return new Hono<ApiEnv>()
    .get(
      '/entities/:type/:id/lifecycle',
      describe('an entity'),
      read(':type'),
      params(entityParams),
      async (c) => {
        const { type, id } = c.req.valid('param')
        return c.json(await lifecycle(type, id, scoped(c)))
      },
    )
    .get(
      '/orders/:id/lifecycle',
      describe('an order', '/entities/order/:id/lifecycle'),
      read('order'),
      params(idParams),
      async (c) => c.json(await lifecycle('order', c.req.valid('param').id, scoped(c))),
    )
    .get(
      '/returns/:id/lifecycle',
      describe('a return', '/entities/return/:id/lifecycle'),
      read('return'),
      params(idParams),
      async (c) => c.json(await lifecycle('return', c.req.valid('param').id, scoped(c))),
    )
}
