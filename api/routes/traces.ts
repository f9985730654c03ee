import { Hono } from 'hono'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import { NotFoundError } from '../../core/errors.ts'
import type { Store } from '../../store/client.ts'
import { type SpanRow, traceSpans, traceWindow } from '../../store/queries/traces.ts'
import { criticalSegments } from '../critical-path.ts'
import { isoFromNanos, params } from '../params.ts'
import { type ApiEnv, policy } from '../policy.ts'

const traceParams = z.object({
  traceId: z
    .string()
    .regex(/^[0-9a-fA-F]{32}$/, 'must be 32 hex digits')
    .describe('W3C trace id'),
})

export interface TraceSpan {
  spanId: string
  parentSpanId: string | null
  name: string
  kind: string
  service: string
  startTime: string
  startNs: string
  /** From the trace's first span: where the bar starts in a waterfall. */
  offsetNs: string
  durationNs: string
  /** 0 for roots; a span whose parent is missing from the trace is a root too. */
  depth: number
  /** On the critical path: the chain of work that decided when the trace ended. */
  critical: boolean
  /** The stretches of this span's own time on the critical path, from the trace's first span. */
  criticalStretches: Array<{ offsetNs: string; durationNs: string }>
  status: { code: string; message: string }
  integration: { connector: string; flow: string; system: string; stage: string }
  entities: Array<{ type: string; id: string }>
  attributes: Record<string, string>
  resource: Record<string, string>
  scope: { name: string; version: string }
  events: Array<{ time: string; name: string; attributes: Record<string, string> }>
  links: Array<{ traceId: string; spanId: string; traceState: string; attributes: Record<string, string> }>
}

/**
 * Each span's depth: its ancestors present in the trace. Walked up with a list, not recursion: a
 * trace is what its senders made it, and a chain of some thousands listed child first ran out of stack.
 */
export function depths(
  spans: ReadonlyArray<Pick<SpanRow, 'span_id' | 'parent_span_id'>>,
): Map<string, number> {
  const parent = new Map(spans.map((s) => [s.span_id, s.parent_span_id]))
  const depth = new Map<string, number>()
  for (const s of spans) {
    const chain: string[] = []
    const onChain = new Set<string>()
    let id: string | undefined = s.span_id
    let above = -1
    while (id !== undefined) {
      const known = depth.get(id)
      if (known !== undefined) {
        above = known
        break
      }
      chain.push(id)
      onChain.add(id)
      const p = parent.get(id)
      // Missing parents and cycles (corrupt input) end the walk rather than loop.
      id = p && parent.has(p) && !onChain.has(p) ? p : undefined
    }
    for (let i = chain.length - 1; i >= 0; i--) depth.set(chain[i] as string, ++above)
  }
  return depth
}

export function traceRoutes(store: Store) {
  const describe = describeRoute({
    tags: ['traces'],
    summary: 'A trace, waterfall-ready',
    description:
      'Every span with its parent, depth, offset from the trace start, duration, whether it is on the critical path and which stretches of its own time are; attributes, events and links.',
    responses: { 200: { description: 'The trace' }, 404: { description: 'No such trace' } },
  })
  // The trace is checked against the scope before the handler runs (api/visibility.ts, `trace`).
  const declared = policy({ role: 'support', scope: { param: 'traceId', names: 'trace' } })
  return new Hono<ApiEnv>().get('/traces/:traceId', describe, declared, params(traceParams), async (c) => {
    const id = c.req.valid('param').traceId.toLowerCase()
    const window = await traceWindow(store, id)
    if (!window) throw new NotFoundError(`trace ${id} not found`)
    const rows = await traceSpans(store, id, window)
    if (rows.length === 0) throw new NotFoundError(`trace ${id} not found`)
    const start = BigInt(rows[0]?.start_ns ?? window.start)
    const end = rows.reduce((m, r) => {
      const e = BigInt(r.start_ns) + BigInt(r.duration_ns)
      return e > m ? e : m
    }, start)
    const depth = depths(rows)
    const critical = criticalSegments(
      rows.map((r) => ({
        spanId: r.span_id,
        parentSpanId: r.parent_span_id || null,
        startNs: BigInt(r.start_ns),
        endNs: BigInt(r.start_ns) + BigInt(r.duration_ns),
      })),
    )
    const spans: TraceSpan[] = rows.map((r) => ({
      spanId: r.span_id,
      parentSpanId: r.parent_span_id || null,
      name: r.name,
      kind: r.kind,
      service: r.service_name,
      startTime: isoFromNanos(r.start_ns),
      startNs: r.start_ns,
      offsetNs: (BigInt(r.start_ns) - start).toString(),
      durationNs: String(r.duration_ns),
      depth: depth.get(r.span_id) ?? 0,
      critical: critical.has(r.span_id),
      criticalStretches: (critical.get(r.span_id) ?? []).map(([from, to]) => ({
        offsetNs: (from - start).toString(),
        durationNs: (to - from).toString(),
      })),
      status: { code: r.status_code, message: r.status_message },
      integration: { connector: r.connector, flow: r.flow, system: r.system, stage: r.stage },
      entities: r.entities.map(([type, eid]) => ({ type, id: eid })),
      attributes: r.attributes,
      resource: r.resource_attributes,
      scope: { name: r.scope_name, version: r.scope_version },
      events: r.events.map(([t, name, attributes]) => ({ time: isoFromNanos(t), name, attributes })),
      links: r.links.map(([tid, sid, traceState, attributes]) => ({
        traceId: tid,
        spanId: sid,
        traceState,
        attributes,
      })),
    }))
    return c.json({
      traceId: id,
      startTime: isoFromNanos(start),
      durationNs: (end - start).toString(),
      spanCount: spans.length,
      services: [...new Set(spans.map((s) => s.service))],
      spans,
    })
  })
}
