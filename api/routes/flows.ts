import { Hono } from 'hono'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import type { Config } from '../../core/config.ts'
import { MINUTE_MS } from '../../core/duration.ts'
import { BadRequestError, NotFoundError } from '../../core/errors.ts'
import { type FlowDefinition, flowShape } from '../../core/flows.ts'
import type { Store } from '../../store/client.ts'
import { entitySystems } from '../../store/queries/entities.ts'
import { entitiesAtStage, failures, progress, stageLatencies } from '../../store/queries/flow-metrics.ts'
import { type FlowSnapshot, flowSnapshot, stateMoved } from '../../store/queries/flow-state.ts'
import { stuckEntities } from '../../store/queries/stuck.ts'
import { flowMetricsView } from '../flow-metrics.ts'
import {
  EARLIEST,
  lookback,
  params,
  query,
  rangeQuery,
  resolveRange,
  timeRange,
  wholeNumber,
} from '../params.ts'
import { type ApiEnv, policy, scoped } from '../policy.ts'
import { stuckView } from '../stuck-view.ts'

const flowParams = z.object({ flow: z.string().max(100).describe('A flow name from flows.yaml') })
const stuckQuery = z.object({
  limit: wholeNumber(1, 1000).default(100).describe('At most this many entities'),
  channel: z.string().max(200).optional().describe('Only entities that came in through this channel'),
  system: z.string().max(200).optional().describe('Only entities this system touched'),
  stage: z
    .string()
    .max(200)
    .optional()
    .describe('Only entities overdue at this stage (next, or unconfirmed)'),
})

const entitiesQuery = timeRange.extend({
  stage: z.string().min(1).max(200).describe('The stage reached (or, with waiting, the stage waited after)'),
  channel: z.string().max(200).optional().describe('Only entities that came in through this channel'),
  system: z.string().max(200).optional().describe('Only entities this system touched'),
  waiting: z
    .enum(['true', 'false'])
    .default('false')
    .describe(
      'true: entities whose last stage this is now (the backlog), not those that reached it in the range',
    ),
  limit: wholeNumber(1, 1000).default(100),
  order: z
    .enum(['newest', 'slowest'])
    .default('newest')
    .describe(
      'newest: latest to reach the stage first; slowest: the longest wait from the stage before first',
    ),
})

/** The 0-based position of a stage named in a query, or a 400 naming the stages there are. */
function stageNamed(flow: FlowDefinition, stage: string): number {
  const index = flow.stages.findIndex((s) => s.name === stage)
  if (index === -1)
    throw new BadRequestError(
      'invalid_parameter',
      `stage: '${stage.slice(0, 100)}' is not a stage of ${flow.name} (${flow.stages.map((s) => s.name).join(', ')})`,
    )
  return index
}

/** How far before `from` an entity's earlier stages may lie: the flow's longest stage delay. */
const earliestStage = (flow: FlowDefinition, from: Date) =>
  new Date(
    Math.max(EARLIEST.getTime(), from.getTime() - Math.max(0, ...flow.stages.map((s) => s.maxDelayMs ?? 0))),
  )

/** A range widened to whole minutes: from the start of its first minute to the end of its last. */
function wholeMinutes<R extends { readonly from: Date; readonly to: Date }>(r: R): R {
  return {
    ...r,
    from: new Date(Math.floor(r.from.getTime() / MINUTE_MS) * MINUTE_MS),
    to: new Date(Math.ceil(r.to.getTime() / MINUTE_MS) * MINUTE_MS),
  }
}

/** Per-flow reads: what is stuck now, and how the flow performed over a range. */
export function flowRoutes(
  store: Store,
  flows: ReadonlyMap<string, FlowDefinition>,
  config: Pick<Config, 'query'>,
) {
  const flowNamed = (name: string) => {
    const flow = flows.get(name)
    if (!flow)
      throw new NotFoundError(`no flow '${name.slice(0, 100)}'; configured: ${[...flows.keys()].join(', ')}`)
    return flow
  }
  /** The flow in the path is checked by the policy; the handler narrows to channels and systems. */
  const inFlow = { param: 'flow', names: 'flow', narrowed: true } as const

  return new Hono<ApiEnv>()
    .get(
      '/flows',
      describeRoute({
        tags: ['flows'],
        summary: 'The configured flows and their stages',
        responses: { 200: { description: 'Flows from flows.yaml' } },
      }),
      policy({ role: 'viewer', scope: 'narrowed' }),
      (c) =>
        c.json({
          flows: scoped(c)
            .flows()
            .map((f) => ({
              name: f.name,
              entity: f.entity,
              stages: f.stages.map((s) => ({
                name: s.name,
                events: s.events,
                maxDelayMs: s.maxDelayMs ?? null,
                optional: s.optional,
              })),
              terminal: f.terminal.map((s) => ({ name: s.name, events: s.events })),
            })),
        }),
    )
    .get(
      '/flows/:flow/stuck',
      describeRoute({
        tags: ['flows'],
        summary: 'Entities overdue at a stage, most overdue first',
        description:
          'Each entity overdue at the stage it awaits: its next stage (`overdue`), or one passed over while a later stage was reached (`unconfirmed`: an invoiced order the carrier never confirmed delivered), by the stage’s max_delay counted from the last stage reached before it; optional stages are never awaited. With the reason in words.',
        responses: { 200: { description: 'The stuck list' }, 404: { description: 'No such flow' } },
      }),
      policy({ role: 'viewer', scope: inFlow }),
      params(flowParams),
      query(stuckQuery),
      async (c) => {
        const flow = flowNamed(c.req.valid('param').flow)
        const visible = scoped(c)
        const { limit, channel, system, stage } = c.req.valid('query')
        const stageIndex = stage === undefined ? undefined : stageNamed(flow, stage)
        const now = new Date()
        const range = lookback(config, now.getTime())
        const shape = flowShape(flow)
        const rows = await stuckEntities(store, {
          flow: shape,
          maxDelayMs: flow.stages.map((s) => s.maxDelayMs ?? 0),
          since: range.from,
          until: range.to,
          now,
          limit,
          channels: visible.narrowed('channels', channel),
          systems: visible.narrowed('systems', system),
          overdueStage: stageIndex === undefined ? undefined : stageIndex + 1,
        })
        const systems = await entitySystems(
          store,
          flow.entity,
          rows.map((r) => r.entity_id),
        )
        return c.json({
          flow: flow.name,
          asOf: now.toISOString(),
          stuck: rows.map((r) => ({
            entity: { type: flow.entity, id: r.entity_id },
            ...stuckView(flow, r, now),
            channel: r.channel,
            systems: systems.get(r.entity_id)?.systems ?? [],
            lastSystem: systems.get(r.entity_id)?.lastSystem ?? '',
          })),
        })
      },
    )
    .get(
      '/flows/:flow/entities',
      describeRoute({
        tags: ['flows'],
        summary: 'The entities behind a point of a flow chart',
        description:
          'Entities that reached a stage in the range (optionally through one channel or touched by one system), or those waiting after it now: what a click on a throughput bar, a latency point, a funnel step or a backlog bar drills into; each with how long it took from the stage before. Newest first, or slowest first (order=slowest: what a latency point drills into).',
        responses: { 200: { description: 'Entities' }, 404: { description: 'No such flow' } },
      }),
      policy({ role: 'support', scope: inFlow }),
      params(flowParams),
      query(entitiesQuery),
      async (c) => {
        const flow = flowNamed(c.req.valid('param').flow)
        const visible = scoped(c)
        const q = c.req.valid('query')
        const stageIndex = stageNamed(flow, q.stage)
        const range = resolveRange(q, config)
        const waiting = q.waiting === 'true'
        // The backlog is now, over every entity still active; a reached stage is in the range.
        const read = waiting ? lookback(config) : { from: earliestStage(flow, range.from), to: range.to }
        const rows = await entitiesAtStage(store, {
          flow: flowShape(flow),
          stage: stageIndex + 1,
          from: range.from,
          to: read.to,
          since: read.from,
          waiting,
          channels: visible.narrowed('channels', q.channel),
          systems: visible.narrowed('systems', q.system),
          limit: q.limit,
          order: q.order,
        })
        const systems = await entitySystems(
          store,
          flow.entity,
          rows.map((r) => r.entity_id),
        )
        return c.json({
          flow: flow.name,
          stage: q.stage,
          waiting,
          from: range.from.toISOString(),
          to: range.to.toISOString(),
          entities: rows.map((r) => {
            const last = Number(r.last_stage)
            const prev = Number(r.prev_ms)
            return {
              entity: { type: flow.entity, id: r.entity_id },
              reachedAt: new Date(Number(r.at_ms)).toISOString(),
              /** How long it took from the stage before (null for the first stage, or a skipped one before). */
              delayMs: prev > 0 && !waiting ? Number(r.at_ms) - prev : null,
              lastStage: flow.stages[last - 1]?.name ?? '',
              // Not completed while a stage passed over is still unconfirmed (the stuck list's rule).
              status: r.terminated ? 'ended' : Number(r.awaited) > 0 ? 'in_progress' : 'completed',
              channel: r.channel,
              lastSystem: systems.get(r.entity_id)?.lastSystem ?? '',
            }
          }),
        })
      },
    )
    .get(
      '/flows/:flow/metrics',
      describeRoute({
        tags: ['flows'],
        summary: 'How a flow performed over a range',
        description:
          'Throughput by channel, stage-to-stage latency percentiles (per bucket and overall), the funnel and completion ratio of the entities that entered in the range, failures by connector and system, and the backlog now.',
        responses: { 200: { description: 'Flow metrics' }, 404: { description: 'No such flow' } },
      }),
      policy({ role: 'viewer', scope: inFlow }),
      params(flowParams),
      query(rangeQuery),
      async (c) => {
        const flow = flowNamed(c.req.valid('param').flow)
        const visible = scoped(c)
        // Whole minutes, as the tallies count them: read from the tallies or from every entity, the
        // same range gives the same counts.
        const range = wholeMinutes(resolveRange(c.req.valid('query'), config))
        const shape = flowShape(flow)
        const now = new Date()
        const current = wholeMinutes(lookback(config, now.getTime()))
        const read = async (snapshot: FlowSnapshot) => {
          const r = {
            ...range,
            lookbackFrom: earliestStage(flow, range.from),
            snapshot,
            // Latencies, the funnel and the backlog count the entities of the scoped channels and systems.
            only: { channels: visible.scope.channels, systems: visible.scope.systems },
          }
          return Promise.all([
            stageLatencies(store, shape, r),
            progress(store, shape, r, { since: current.from, until: current.to }),
            failures(store, shape, r),
          ])
        }
        const snapshot = await flowSnapshot(store, shape)
        let [latencies, funnel, fails] = await read(snapshot)
        // A refresh that wrote meanwhile may be counted twice: once more, from a fresh snapshot.
        if (await stateMoved(store, shape, snapshot))
          [latencies, funnel, fails] = await read(await flowSnapshot(store, shape))
        return c.json(
          flowMetricsView(
            flow,
            range,
            {
              throughput: funnel.throughput.filter((t) => visible.channel(t.channel)),
              latencies,
              progress: funnel.progress,
              failures: fails.filter((f) => visible.system(f.system)),
            },
            now,
          ),
        )
      },
    )
}
