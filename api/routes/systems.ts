import { Hono } from 'hono'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import { OutOfScopeError } from '../../auth/scope.ts'
import type { Config } from '../../core/config.ts'
import type { Store } from '../../store/client.ts'
import { failingCalls, services, systemEdges } from '../../store/queries/system-map.ts'
import { isoFromNanos, query, resolveRange, timeRange, wholeNumber } from '../params.ts'
import { type ApiEnv, policy, scoped } from '../policy.ts'

const service = z.string().min(1).max(200)
const edgeQuery = timeRange.extend({
  source: service.describe('Calling service'),
  target: service.describe('Called service'),
  limit: wholeNumber(1, 500).default(50),
})

const ms = (ns: number) => Math.round(ns / 1e3) / 1e3

/** The systems graph: services as nodes, calls between them (parent → child spans) as edges. */
export function systemRoutes(store: Store, config: Pick<Config, 'query'>) {
  return new Hono<ApiEnv>()
    .get(
      '/systems/map',
      describeRoute({
        tags: ['systems'],
        summary: 'Systems and the calls between them',
        description:
          'Nodes are services with their span and error counts; edges are calls from a parent span in one service to a child span in another, with rate, error ratio and latency percentiles of the called side. Edges are rolled up per minute on a timer (SIGNALBOX_ROLLUP_INTERVAL_SECONDS).',
        responses: { 200: { description: 'The map' } },
      }),
      policy({ role: 'viewer', scope: 'narrowed' }),
      query(timeRange),
      async (c) => {
        const { from, to } = resolveRange(c.req.valid('query'), config)
        const [allEdges, allNodes] = await Promise.all([
          systemEdges(store, from, to),
          services(store, from, to),
        ])
        // A token scoped to systems sees the calls its systems make or take, and those systems' peers.
        const visible = scoped(c)
        const edges = allEdges.filter((e) => visible.system(e.source) || visible.system(e.target))
        const seen = new Set(edges.flatMap((e) => [e.source, e.target]))
        const nodes = allNodes.filter((n) => visible.system(n.service) || seen.has(n.service))
        const minutes = (to.getTime() - from.getTime()) / 60_000
        return c.json({
          from: from.toISOString(),
          to: to.toISOString(),
          nodes: nodes.map((n) => ({
            id: n.service,
            spans: Number(n.spans),
            errors: Number(n.errors),
            errorRatio: Number(n.spans) === 0 ? null : Number(n.errors) / Number(n.spans),
          })),
          edges: edges.map((e) => ({
            source: e.source,
            target: e.target,
            calls: Number(e.calls),
            callsPerMinute: Number(e.calls) / minutes,
            errors: Number(e.errors),
            errorRatio: Number(e.calls) === 0 ? null : Number(e.errors) / Number(e.calls),
            p50Ms: ms(e.p50_ns),
            p95Ms: ms(e.p95_ns),
            p99Ms: ms(e.p99_ns),
          })),
        })
      },
    )
    .get(
      '/systems/calls',
      describeRoute({
        tags: ['systems'],
        summary: 'Failed calls on one edge of the map, newest first',
        responses: { 200: { description: 'Failed calls with their traces' } },
      }),
      policy({ role: 'viewer', scope: 'narrowed' }),
      query(edgeQuery),
      async (c) => {
        const q = c.req.valid('query')
        const visible = scoped(c)
        if (!visible.system(q.source) && !visible.system(q.target))
          throw new OutOfScopeError(`neither ${q.source} nor ${q.target} is within this token's systems`)
        const { from, to } = resolveRange(q, config)
        const all = await failingCalls(store, { source: q.source, target: q.target }, from, to, q.limit)
        // Each call is shown when its trace is: a call in an order's trace is as much about the order.
        const traces = await visible.traceIds(all.map((r) => r.trace_id))
        const rows = all.filter((r) => traces.has(r.trace_id))
        return c.json({
          source: q.source,
          target: q.target,
          calls: rows.map((r) => ({
            traceId: r.trace_id,
            spanId: r.span_id,
            at: isoFromNanos(r.time_ns),
            name: r.name,
            durationMs: ms(Number(r.duration_ns)),
            error: r.status_message,
          })),
        })
      },
    )
}
