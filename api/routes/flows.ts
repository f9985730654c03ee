import { Hono } from 'hono'
import { z } from 'zod'
import type { Config } from '../../core/config.ts'
import { NotFoundError } from '../../core/errors.ts'
import type { FlowDefinition } from '../../core/flows.ts'
import type { Store } from '../../store/client.ts'
import { stuckEntities } from '../../store/queries/stuck.ts'
import { lookback, parseQuery } from '../params.ts'

/** Per-flow reads: `GET /flows/:flow/stuck`. */
export function flowRoutes(
  store: Store,
  flows: ReadonlyMap<string, FlowDefinition>,
  config: Pick<Config, 'query'>,
) {
  const stuckQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) })
  return new Hono().get('/flows/:flow/stuck', async (c) => {
    const flow = flows.get(c.req.param('flow'))
    if (!flow)
      throw new NotFoundError(
        `no flow '${c.req.param('flow').slice(0, 100)}'; configured: ${[...flows.keys()].join(', ')}`,
      )
    const { limit } = parseQuery(stuckQuery, c.req.query())
    const now = new Date()
    const rows = await stuckEntities(store, {
      entityType: flow.entity,
      stageEvents: flow.stages.map((s) => s.events),
      maxDelayMs: flow.stages.map((s) => s.maxDelayMs ?? 0),
      terminalEvents: flow.terminal.flatMap((t) => t.events),
      since: lookback(config, now.getTime()).from,
      now,
      limit,
    })
    return c.json({
      flow: flow.name,
      asOf: now.toISOString(),
      stuck: rows.map((r) => {
        const reached = flow.stages[Number(r.last_stage) - 1]
        const next = flow.stages[Number(r.last_stage)]
        return {
          entity: { type: flow.entity, id: r.entity_id },
          lastStage: reached?.name,
          lastStageAt: new Date(Number(r.last_at_ms)).toISOString(),
          overdueStage: next?.name,
          overdueMs: Number(r.overdue_ms),
        }
      }),
    })
  })
}
