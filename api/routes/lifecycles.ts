import { Hono } from 'hono'
import type { Config } from '../../core/config.ts'
import { BadRequestError, NotFoundError } from '../../core/errors.ts'
import type { FlowDefinition } from '../../core/flows.ts'
import type { EntityType } from '../../core/vocabulary.ts'
import type { Store } from '../../store/client.ts'
import { entityHistory } from '../../store/queries/entities.ts'
import { listExceptions } from '../../store/queries/exceptions.ts'
import { buildLifecycle, type TimelineEntry } from '../lifecycle.ts'
import { lookback } from '../params.ts'

const MAX_ID_LENGTH = 1024

/** `GET /orders/:id/lifecycle`, `GET /returns/:id/lifecycle`: where an entity is in its flow, and why. */
export function lifecycleRoutes(
  store: Store,
  flows: ReadonlyMap<string, FlowDefinition>,
  config: Pick<Config, 'query'>,
) {
  const flowFor = (entity: EntityType) => [...flows.values()].find((f) => f.entity === entity)

  const lifecycle = async (entity: EntityType, id: string) => {
    if (id.length === 0 || id.length > MAX_ID_LENGTH)
      throw new BadRequestError('invalid_parameter', `id: between 1 and ${MAX_ID_LENGTH} characters`)
    const flow = flowFor(entity)
    if (!flow) throw new NotFoundError(`no flow is configured for ${entity}s`)
    const now = Date.now()
    // Every read carries a time range: the entity's history over the widest range a read may ask for.
    const { from, to } = lookback(config, now)
    const rows = await entityHistory(store, entity, id, from, to)
    if (rows.length === 0) throw new NotFoundError(`${entity} ${id} not found`)
    const exceptions = await listExceptions(store, { entity: { type: entity, id }, limit: 100 })
    const built = buildLifecycle(flow, rows, now)
    const exceptionEntries: TimelineEntry[] = exceptions.map((e) => ({
      at: `${e.last_seen.replace(' ', 'T')}Z`,
      kind: 'exception',
      system: e.error_class.split('.')[0] ?? '',
      name: `${e.step}: ${e.error_message}`,
      traceId: e.trace_id || null,
    }))
    return {
      entity: { type: entity, id },
      ...built,
      timeline: [...built.timeline, ...exceptionEntries].sort((a, b) => a.at.localeCompare(b.at)),
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

  return new Hono()
    .get('/orders/:id/lifecycle', async (c) => c.json(await lifecycle('order', c.req.param('id'))))
    .get('/returns/:id/lifecycle', async (c) => c.json(await lifecycle('return', c.req.param('id'))))
}
