import { Hono } from 'hono'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import type { Config } from '../../core/config.ts'
import { DAY_MS } from '../../core/duration.ts'
import type { Store } from '../../store/client.ts'
import { listEvents } from '../../store/queries/events.ts'
import { instant, isoFromNanos, query, requestedRange, wholeNumber } from '../params.ts'
import { type ApiEnv, policy, scoped } from '../policy.ts'

export function eventRoutes(store: Store, config: Pick<Config, 'query'>) {
  const schema = z.object({
    type: z.string().max(256).optional().describe('An event type; a trailing `*` matches a prefix'),
    subject: z.string().max(1024).optional().describe('The entity id the event is about'),
    from: instant.optional(),
    to: instant.optional(),
    limit: wholeNumber(1, 1000).default(100),
  })
  const describe = describeRoute({
    tags: ['events'],
    summary: 'Business events (CloudEvents) as stored, newest first',
    responses: { 200: { description: 'Events in the range' } },
  })
  const declared = policy({ role: 'support', scope: 'narrowed' })
  return new Hono<ApiEnv>().get('/events', describe, declared, query(schema), async (c) => {
    const q = c.req.valid('query')
    const { from, to } = requestedRange(q, config, {
      toMs: Date.now() + DAY_MS,
      spanMs: config.query.maxRangeDays * DAY_MS,
    })
    const visible = scoped(c)
    // A scoped read looks further to fill its page with what the scope sees.
    const read = visible.readRows(q.limit)
    const all = await listEvents(store, { type: q.type, subject: q.subject, from, to, limit: read })
    const rows = (await visible.events(all)).slice(0, q.limit)
    return c.json({
      from: from.toISOString(),
      to: to.toISOString(),
      events: rows.map((r) => ({
        id: r.id,
        source: r.source,
        type: r.type,
        subject: r.subject,
        time: isoFromNanos(r.time_ns),
        receivedAt: new Date(Number(r.received_at_ms)).toISOString(),
        datacontenttype: r.datacontenttype,
        dataschema: r.dataschema,
        data: parseData(r.data, r.datacontenttype),
        extensions: r.extensions,
        traceId: r.trace_id || null,
        spanId: r.span_id || null,
        integration: { connector: r.connector, flow: r.flow, system: r.system },
        location: r.location,
        entities: r.entities.map(([type, id]) => ({ type, id })),
      })),
    })
  })
}

function parseData(data: string, contentType: string): unknown {
  if (data === '') return null
  if (contentType === '' || contentType.includes('json')) {
    try {
      return JSON.parse(data)
    } catch {
      return data
    }
  }
  return data
}
