import { SpanKind } from '@opentelemetry/api'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { resourceFromAttributes } from '@opentelemetry/resources'
import type { InferRequestType } from 'hono/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { criticalPath } from '../../api/critical-path.ts'
import { ok, typedApi } from '../support/api-client.ts'
import { readableSpan } from '../support/readable-span.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

let sb: TestSignalbox
beforeAll(async () => {
  sb = await startSignalbox({ SIGNALBOX_ROLLUP_INTERVAL_SECONDS: '1' })
})
afterAll(async () => {
  await sb?.close()
})

const MINUTE = 60_000
const HOUR = 60 * MINUTE
// Whole hours ago, so buckets and ranges are exact.
const base = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR
const at = (offsetMs: number) => new Date(base + offsetMs).toISOString()

let n = 0
const event = (type: string, subject: string, offsetMs: number, extra: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id: `m-${n++}`,
  source: 'urn:metrics-test',
  type,
  subject,
  time: at(offsetMs),
  datacontenttype: 'application/json',
  ...extra,
})

async function post(path: string, contentType: string, body: BodyInit) {
  const res = await fetch(`${sb.collectorUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  })
  expect(res.status).toBe(200)
}

const api = () => typedApi(sb.apiUrl)
const FLOW = { flow: 'order_to_cash' }
type FlowRoutes = ReturnType<typeof api>['flows'][':flow']
type Query<R extends 'metrics' | 'entities'> = InferRequestType<FlowRoutes[R]['$get']>['query']
const metrics = (query: Query<'metrics'>) => ok(api().flows[':flow'].metrics.$get({ param: FLOW, query }))
const entities = (query: Query<'entities'>) => ok(api().flows[':flow'].entities.$get({ param: FLOW, query }))

describe('flow metrics', () => {
  beforeAll(async () => {
    // Four web orders and two POS orders in the first hour; payment always 1 minute later. Two web
    // orders get reserved 5 minutes after payment and posted; one POS order is cancelled.
    const events: object[] = []
    const orders = [
      ['FM-1', 'web', 0],
      ['FM-2', 'web', 10 * MINUTE],
      ['FM-3', 'web', 20 * MINUTE],
      ['FM-4', 'web', 30 * MINUTE],
      ['FM-5', 'pos', 40 * MINUTE],
      ['FM-6', 'pos', 50 * MINUTE],
    ] as const
    for (const [id, channel, t] of orders) {
      events.push(event('retail.order.created', id, t, { data: { channel } }))
      events.push(event('retail.order.payment_authorized', id, t + MINUTE))
    }
    for (const [id, , t] of orders.slice(0, 2)) {
      events.push(event('retail.order.inventory_reserved', id, t + 6 * MINUTE))
      events.push(event('retail.order.erp_posted', id, t + 16 * MINUTE))
    }
    events.push(event('retail.order.cancelled', 'FM-6', 55 * MINUTE))
    await post('/v1/events', 'application/cloudevents-batch+json', JSON.stringify(events))
    // Sync spans of the flow: 3 ERP postings by the order connector, one failed.
    const resource = resourceFromAttributes({
      'service.name': 'connector-o2c',
      'integration.connector': 'o2c',
    })
    const spans = [0, 1, 2].map((i) =>
      readableSpan({
        traceId: `f${i}`.padEnd(32, '0'),
        spanId: `f${i}`.padEnd(16, '0'),
        name: 'sync order_to_cash.post_sales_order',
        startMs: base + 16 * MINUTE + i * MINUTE,
        durationMs: 40,
        resource,
        attributes: {
          'integration.flow': 'order_to_cash',
          'integration.system': 'erp',
          'integration.stage': 'erp_posted',
        },
        error: i === 2 ? 'ERP answered 503' : undefined,
      }),
    )
    await post(
      '/v1/traces',
      'application/x-protobuf',
      ProtobufTraceSerializer.serializeRequest(spans) as BodyInit,
    )
  })

  const range = () => ({ from: at(0), to: at(2 * HOUR), step: '1h' })

  it('counts orders entering the flow per hour by channel', async () => {
    const m = await metrics(range())
    expect(m.stepSeconds).toBe(3600)
    expect(m.throughput).toEqual([
      { at: at(0), channel: 'pos', entities: 2 },
      { at: at(0), channel: 'web', entities: 4 },
    ])
  })

  it('counts only the orders that entered in the range, though the pass reads every active order', async () => {
    // From minute 30 in half-hours: FM-1 to FM-3 entered in the half-hour before and are still read
    // (for the backlog now), so their half-hour must not show up as a throughput row of zero.
    const m = await metrics({ from: at(30 * MINUTE), to: at(2 * HOUR), step: '30m' })
    expect(m.throughput).toEqual([
      { at: at(30 * MINUTE), channel: 'pos', entities: 2 },
      { at: at(30 * MINUTE), channel: 'web', entities: 1 },
    ])
    expect(m.funnel.started).toBe(3)
  })

  it('gives stage-to-stage latency percentiles, overall and per bucket', async () => {
    const m = await metrics(range())
    const payment = m.latency.overall.find((l) => l.stage === 'payment_authorized')
    expect(payment).toEqual({
      stage: 'payment_authorized',
      p50Ms: MINUTE,
      p95Ms: MINUTE,
      p99Ms: MINUTE,
      entities: 6,
    })
    expect(m.latency.overall.find((l) => l.stage === 'inventory_reserved')).toMatchObject({
      p50Ms: 5 * MINUTE,
      entities: 2,
    })
    expect(m.latency.overall.find((l) => l.stage === 'erp_posted')).toMatchObject({
      p50Ms: 10 * MINUTE,
      entities: 2,
    })
    expect(m.latency.series.filter((s) => s.stage === 'payment_authorized')).toEqual([
      { at: at(0), stage: 'payment_authorized', p50Ms: MINUTE, p95Ms: MINUTE, p99Ms: MINUTE, entities: 6 },
    ])
  })

  it('gives the funnel and completion of the orders that entered in the range', async () => {
    const m = await metrics(range())
    expect(m.funnel).toMatchObject({ started: 6, completed: 0, terminated: 1, completionRatio: 0 })
    expect(m.funnel.stages.slice(0, 5).map((s) => s.reached)).toEqual([6, 6, 2, 2, 0])
  })

  it('gives failures by connector and system, and the backlog now', async () => {
    const m = await metrics(range())
    expect(m.failures).toEqual([{ connector: 'o2c', system: 'erp', spans: 3, errors: 1, errorRatio: 1 / 3 }])
    const waiting = Object.fromEntries(m.backlog.stages.map((s) => [s.waitingAfter, s.entities]))
    // FM-3, FM-4, FM-5 wait after payment (FM-6 was cancelled); FM-1 and FM-2 wait after the ERP.
    expect(waiting).toMatchObject({
      captured: 0,
      payment_authorized: 3,
      inventory_reserved: 0,
      erp_posted: 2,
    })
  })

  it('lists the entities behind a chart point: a channel bar, a stage in a bucket, a backlog bar', async () => {
    const ids = (e: Awaited<ReturnType<typeof entities>>) => e.entities.map((x) => x.entity.id)
    const pos = await entities({ stage: 'captured', channel: 'pos', ...range() })
    expect(ids(pos)).toEqual(['FM-6', 'FM-5'])
    expect(pos.entities[0]).toMatchObject({ reachedAt: at(50 * MINUTE), channel: 'pos', status: 'ended' })
    const posted = await entities({ stage: 'erp_posted', from: at(0), to: at(20 * MINUTE) })
    expect(ids(posted)).toEqual(['FM-1'])
    // A latency point's drill: each entity with how long it took from the stage before, slowest first.
    const paid = await entities({ stage: 'payment_authorized', order: 'slowest', ...range() })
    expect(paid.entities.map((x) => x.delayMs)).toEqual(Array(6).fill(MINUTE))
    const posted2 = await entities({ stage: 'erp_posted', order: 'slowest', ...range() })
    expect(posted2.entities.map((x) => [x.entity.id, x.delayMs])).toEqual([
      ['FM-2', 10 * MINUTE],
      ['FM-1', 10 * MINUTE],
    ])
    expect(pos.entities.every((x) => x.delayMs === null)).toBe(true)
    const waiting = await entities({ stage: 'payment_authorized', waiting: 'true', ...range() })
    expect(ids(waiting).sort()).toEqual(['FM-3', 'FM-4', 'FM-5'])
    const bad = await fetch(`${sb.apiUrl}/api/flows/order_to_cash/entities?stage=nope`)
    expect(bad.status).toBe(400)
    expect(await bad.text()).toContain('stage')
  })

  it('answers 400 naming the parameter for a bad range and 404 for an unknown flow', async () => {
    for (const [query, param] of [
      ['step=5s', 'step'],
      ['from=yesterday', 'from'],
      [`from=${at(HOUR)}&to=${at(0)}`, 'from'],
      [`from=2020-01-01T00:00:00Z&to=${at(0)}`, 'from'],
    ] as const) {
      const res = await fetch(`${sb.apiUrl}/api/flows/order_to_cash/metrics?${query}`)
      expect(res.status, query).toBe(400)
      const body = (await res.json()) as { error: { code: string; message: string } }
      expect(body.error.code).toBe('invalid_parameter')
      expect(body.error.message.startsWith(`${param}:`), body.error.message).toBe(true)
    }
    expect((await fetch(`${sb.apiUrl}/api/flows/teleport/metrics`)).status).toBe(404)
  })
})

describe('the system map', () => {
  it('draws an edge for calls from one service into another, with rate, errors and latency', async () => {
    const now = Date.now() - 2 * MINUTE
    const connector = resourceFromAttributes({ 'service.name': 'map-connector' })
    const erp = resourceFromAttributes({ 'service.name': 'map-erp' })
    const spans = [0, 1, 2, 3].flatMap((i) => {
      const traceId = `ab${i}`.padEnd(32, '0')
      return [
        readableSpan({
          traceId,
          spanId: `c${i}`.padEnd(16, '0'),
          name: 'POST /orders',
          kind: SpanKind.CLIENT,
          startMs: now + i,
          durationMs: 50,
          resource: connector,
        }),
        readableSpan({
          traceId,
          spanId: `d${i}`.padEnd(16, '0'),
          parentSpanId: `c${i}`.padEnd(16, '0'),
          name: 'POST /orders',
          kind: SpanKind.SERVER,
          startMs: now + i + 5,
          durationMs: 40,
          resource: erp,
          error: i === 3 ? 'sales order rejected' : undefined,
        }),
      ]
    })
    await post(
      '/v1/traces',
      'application/x-protobuf',
      ProtobufTraceSerializer.serializeRequest(spans) as BodyInit,
    )
    const range = { from: new Date(now - HOUR).toISOString(), to: new Date(now + HOUR).toISOString() }
    const readMap = () => ok(api().systems.map.$get({ query: range }))
    // The edges are rolled up on the api's timer (every second here): poll until they appear.
    let map: Awaited<ReturnType<typeof readMap>> | undefined
    await expect
      .poll(
        async () => {
          map = await readMap()
          return map.edges.find((e) => e.source === 'map-connector')?.calls
        },
        { timeout: 15_000, interval: 200 },
      )
      .toBe(4)
    const edge = map?.edges.find((e) => e.source === 'map-connector')
    expect(edge).toMatchObject({ target: 'map-erp', errors: 1, errorRatio: 0.25 })
    expect(edge?.p95Ms).toBeCloseTo(40, 0)
    expect(map?.nodes.map((nd) => nd.id)).toEqual(expect.arrayContaining(['map-connector', 'map-erp']))
    const calls = await ok(
      api().systems.calls.$get({ query: { ...range, source: 'map-connector', target: 'map-erp' } }),
    )
    expect(calls.calls).toEqual([
      expect.objectContaining({ traceId: 'ab3'.padEnd(32, '0'), error: 'sales order rejected' }),
    ])
    const trace = await ok(api().traces[':traceId'].$get({ param: { traceId: 'ab0'.padEnd(32, '0') } }))
    expect(trace.spans.map((sp) => [sp.depth, sp.critical])).toEqual([
      [0, true],
      [1, true],
    ])
  })
})

describe('the trace critical path', () => {
  it('follows the child that ended last, then the work before it', () => {
    const s = (spanId: string, parentSpanId: string | null, start: number, end: number) => ({
      spanId,
      parentSpanId,
      startNs: BigInt(start),
      endNs: BigInt(end),
    })
    // root 0–100: a 0–30 and b 10–40 overlap (b ends later, so b is on the path, a is not);
    // c 50–90 after them; c's child d 55–60 ends before c's own tail, so it is on the path too.
    const path = criticalPath([
      s('root', null, 0, 100),
      s('a', 'root', 0, 30),
      s('b', 'root', 10, 40),
      s('c', 'root', 50, 90),
      s('d', 'c', 55, 60),
      s('e', 'c', 52, 58),
    ])
    expect([...path].sort()).toEqual(['b', 'c', 'd', 'root'])
  })
})

describe('the OpenAPI document and reference', () => {
  it('describes every route with its parameters, generated from the validators', async () => {
    const doc = await fetch(`${sb.apiUrl}/api/openapi.json`).then(
      (r) =>
        r.json() as Promise<{
          openapi: string
          paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }> }>>
        }>,
    )
    expect(doc.openapi).toMatch(/^3\./)
    for (const path of [
      '/api/orders/{id}/lifecycle',
      '/api/returns/{id}/lifecycle',
      '/api/inventory/{sku}',
      '/api/traces/{traceId}',
      '/api/search',
      '/api/flows/{flow}/metrics',
      '/api/flows/{flow}/stuck',
      '/api/systems/map',
      '/api/events',
      '/api/exceptions',
      '/api/connectors',
      '/api/health',
    ])
      expect(Object.keys(doc.paths), path).toContain(path)
    const metrics = doc.paths['/api/flows/{flow}/metrics']?.get?.parameters?.map((p) => `${p.in}:${p.name}`)
    expect(metrics).toEqual(expect.arrayContaining(['path:flow', 'query:from', 'query:to', 'query:step']))
    const page = await fetch(`${sb.apiUrl}/api/reference`)
    expect(page.headers.get('content-type')).toMatch(/text\/html/)
    const html = await page.text()
    expect(html).toContain('/api/flows/{flow}/metrics')
    expect(html).toContain('How a flow performed over a range')
  })
})
