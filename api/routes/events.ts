import { Hono } from 'hono'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import type { Config } from '../../core/config.ts'
import type { Store } from '../../store/client.ts'
import { listEvents } from '../../store/queries/events.ts'
import { boundedRange, DAY_MS, isoFromNanos, query } from '../params.ts'

export function eventRoutes(store: Store, config: Pick<Config, 'query'>) {
  const schema = z.object({
    type: z.string().max(256).optional().describe('An event type; a trailing `*` matches a prefix'),
    subject: z.string().max(1024).optional().describe('The entity id the event is about'),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  const describe = describeRoute({
    tags: ['events'],
    summary: 'Business events (CloudEvents) as stored, newest first',
    responses: { 200: { description: 'Events in the range' } },
  })
  return new Hono().get('/events', describe, query(schema), async (c) => {
    const q = c.req.valid('query')
    const to = q.to ? new Date(q.to) : new Date(Date.now() + DAY_MS)
    const { from } = boundedRange(
      q.from ? new Date(q.from) : new Date(to.getTime() - config.query.maxRangeDays * DAY_MS),
      to,
      config,
    )
    const rows = await listEvents(store, { type: q.type, subject: q.subject, from, to, limit: q.limit })
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
