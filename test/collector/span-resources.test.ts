import { context, trace } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TraceSpan } from '../../api/routes/traces.ts'
import { CollectorMetrics } from '../../collector/metrics.ts'
import { ResourceWriter } from '../../collector/spans/resource-writer.ts'
import { ResourceIds, resourceId, type SpanResource } from '../../collector/spans/resources.ts'
import type { Store } from '../../store/client.ts'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

/*
 * A resource's attributes are stored once, in span_resources, and a span keeps its id
 * (store/migrations/0026_span_resources.ts): the trace still shows every span's resource, spans
 * stored before the change included, and a resource is written once however many spans name it.
 */

let sb: TestSignalbox
beforeAll(async () => {
  sb = await startSignalbox()
})
afterAll(async () => {
  await sb?.close()
})

/** `traces` traces of `spansPerTrace` spans from one resource, in several export requests. */
async function exportTraces(attributes: Record<string, string>, traces: number, spansPerTrace: number) {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(attributes),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `${sb.collectorUrl}/v1/traces` }), {
        maxExportBatchSize: 7,
      }),
    ],
  })
  const tracer = provider.getTracer('resources-test')
  const traceIds: string[] = []
  for (let t = 0; t < traces; t++) {
    const root = tracer.startSpan(`sync step ${t}`)
    traceIds.push(root.spanContext().traceId)
    root.end()
    for (let s = 1; s < spansPerTrace; s++)
      tracer.startSpan(`call ${s}`, {}, trace.setSpan(context.active(), root)).end()
  }
  await provider.forceFlush()
  await provider.shutdown()
  return traceIds
}

async function getTrace(traceId: string) {
  const res = await fetch(`${sb.apiUrl}/api/traces/${traceId}`)
  expect(res.status).toBe(200)
  return (await res.json()) as { spans: TraceSpan[] }
}

const wms = {
  'service.name': 'wms-sync',
  'service.version': '3.1.0',
  'host.name': 'wms-01',
  'deployment.environment': 'prod',
}
const pos = { 'service.name': 'pos-sync', 'service.version': '1.2.0', 'host.name': 'pos-07' }

describe('resources stored once', () => {
  it('write each resource once however many spans and requests name it; spans keep only its id', async () => {
    await exportTraces(wms, 6, 5)
    await exportTraces(pos, 4, 3)
    const stored = await sb.rows<{ service_name: string; attributes: Record<string, string>; n: string }>(sql`
      SELECT service_name, any(attributes) AS attributes, count() AS n FROM ${table(TABLES.spanResources)}
      WHERE service_name IN ('wms-sync', 'pos-sync') GROUP BY service_name ORDER BY service_name`)
    expect(stored.map((r) => [r.service_name, r.n])).toEqual([
      ['pos-sync', '1'],
      ['wms-sync', '1'],
    ])
    expect(stored[1]?.attributes).toMatchObject(wms)
    const spans = await sb.rows<{
      service_name: string
      ids: string
      n: string
      with_attributes: string
    }>(sql`
      SELECT service_name, uniqExact(resource_id) AS ids, count() AS n,
        countIf(notEmpty(resource_attributes)) AS with_attributes
      FROM ${table(TABLES.spans)} WHERE service_name IN ('wms-sync', 'pos-sync')
      GROUP BY service_name ORDER BY service_name`)
    expect(spans.map((r) => [r.service_name, r.n, r.ids, r.with_attributes])).toEqual([
      ['pos-sync', '12', '1', '0'],
      ['wms-sync', '30', '1', '0'],
    ])
    const version = await sb.rows<{ v: string }>(
      sql`SELECT DISTINCT service_version AS v FROM ${table(TABLES.spans)} WHERE service_name = 'wms-sync'`,
    )
    expect(version).toEqual([{ v: '3.1.0' }])
  })

  it("show every span of a trace with its resource's attributes, spans stored before the change included", async () => {
    const [traceId] = (await exportTraces(wms, 1, 3)) as [string]
    // A span stored before migration 26: its resource's attributes on the row, resource id 0.
    await sb.store.command(sql`
      INSERT INTO ${table(TABLES.spans)} (timestamp, trace_id, span_id, name, service_name, resource_attributes)
      VALUES (now64(9), ${traceId}, 'a1a1a1a1a1a1a1a1', 'legacy step', 'erp-adapter',
        map('service.name', 'erp-adapter', 'service.version', '0.9.0'))`)
    const { spans } = await getTrace(traceId)
    expect(spans).toHaveLength(4)
    for (const s of spans.filter((s) => s.service === 'wms-sync')) expect(s.resource).toMatchObject(wms)
    expect(spans.find((s) => s.name === 'legacy step')?.resource).toEqual({
      'service.name': 'erp-adapter',
      'service.version': '0.9.0',
    })
  })

  it('give one resource one id whatever the order of its attributes, and another resource another', () => {
    const id = (attributes: Record<string, string>) => resourceId({ serviceName: 'svc', attributes })
    expect(id({ a: '1', b: '2' })).toBe(id({ b: '2', a: '1' }))
    expect(id({ a: '1', b: '2' })).not.toBe(id({ a: '1', b: '3' }))
    expect(id({ a: '1', b: '2' })).not.toBe(
      resourceId({ serviceName: 'other', attributes: { a: '1', b: '2' } }),
    )
    // Keys and values are not run together: ("ab", "c") is not ("a", "bc").
    expect(id({ ab: 'c' })).not.toBe(id({ a: 'bc' }))
    // Two keys that become one once lone surrogates are repaired: one id, one stored map, either order.
    const stored = (attributes: Record<string, string>) => {
      const ids = new ResourceIds()
      ids.of({ serviceName: 'svc', attributes })
      return ids.resources
    }
    const [first, second] = [
      stored({ 'k\ud800': '1', 'k\udc00': '2' }),
      stored({ 'k\udc00': '2', 'k\ud800': '1' }),
    ]
    expect(first).toEqual(second)
    expect(first[0]?.attributes).toEqual({ 'k\ufffd': '2' })
  })
})

describe('a sender whose every request brings a new resource', () => {
  /** A histogram's count for one table, from the collector's /metrics. */
  const writes = (metrics: string, t: string) =>
    Number(
      new RegExp(`signalbox_collector_flush_duration_seconds_count\\{table="${t}"\\} (\\d+)`).exec(
        metrics,
      )?.[1] ?? 0,
    )

  it("costs no insert of its own: a write's new resources go out in one insert with its spans", async () => {
    const before = await (await fetch(`${sb.collectorUrl}/metrics`)).text()
    // Short-lived workers (serverless, autoscaled pods): each exports once, as its own resource.
    const workers = 32
    const traceIds = await Promise.all(
      Array.from({ length: workers }, (_, i) =>
        exportTraces({ ...pos, 'service.name': 'pos-worker', 'service.instance.id': `worker-${i}` }, 1, 3),
      ),
    )
    const after = await (await fetch(`${sb.collectorUrl}/metrics`)).text()
    const spanWrites = writes(after, TABLES.spans) - writes(before, TABLES.spans)
    const resourceWrites = writes(after, TABLES.spanResources) - writes(before, TABLES.spanResources)
    // The workers' requests shared writes, and each of those writes made one insert of resources.
    expect(spanWrites).toBeLessThan(workers)
    expect(resourceWrites).toBe(spanWrites)
    const stored = await sb.rows<{ n: string }>(sql`
      SELECT uniqExact(attributes['service.instance.id']) AS n FROM ${table(TABLES.spanResources)}
      WHERE service_name = 'pos-worker'`)
    expect(stored[0]?.n).toBe(String(workers))
    // Every span still reads back with its own worker's resource.
    const { spans } = await getTrace(traceIds[7]?.[0] as string)
    expect(spans).toHaveLength(3)
    for (const s of spans) expect(s.resource?.['service.instance.id']).toBe('worker-7')
  })
})

describe('the resource writer', () => {
  /** The test's store, its span_resources writes counted, and made to fail while `failing` is set. */
  function counted(store: Store) {
    const state = { writes: 0, rows: 0, failing: false }
    const wrapped: Store = {
      ...store,
      async insertRows(t, columns, chunks, options) {
        state.writes++
        state.rows += chunks.join('').split('\n').filter(Boolean).length
        if (state.failing) throw new Error('store unavailable (test)')
        return store.insertRows(t, columns, chunks, options)
      },
    }
    return { store: wrapped, state }
  }
  const resource = (n: number): SpanResource => ({
    id: String(1_000_000 + n),
    serviceName: `writer-test-${n}`,
    attributes: { 'service.name': `writer-test-${n}` },
  })

  it('writes the resources of a write in one insert, each once, and a known one again only when due', async () => {
    const { store, state } = counted(sb.store)
    let now = Date.now()
    const writer = new ResourceWriter(store, { refreshMs: 60_000, now: () => now })
    // Three requests of one write, two naming the same resource.
    await writer.store([resource(1), resource(2), resource(1)])
    expect(state).toMatchObject({ writes: 1, rows: 2 })
    await writer.store([resource(1), resource(2)])
    expect(state.writes).toBe(1)
    now += 60_000
    await writer.store([resource(1)])
    expect(state.writes).toBe(2)
    // Written again with the later time, which its retention counts from (merges may fold the rows).
    const rows = await sb.rows<{ seen: number }>(sql`
      SELECT toUnixTimestamp(max(seen)) AS seen FROM ${table(TABLES.spanResources)}
      WHERE service_name = 'writer-test-1'`)
    expect(rows[0]?.seen).toBe(Math.floor(now / 1000))
  })

  it('remembers nothing from a failed insert: the next write stores the resource', async () => {
    const { store, state } = counted(sb.store)
    const metrics = new CollectorMetrics({ processMetrics: false })
    const writer = new ResourceWriter(store, { metrics })
    state.failing = true
    await expect(writer.store([resource(3)])).rejects.toThrow('store unavailable')
    // Counted under its own table: the operator sees which insert failed the spans' write.
    expect((await metrics.flushFailures.get()).values).toEqual([
      expect.objectContaining({ labels: { table: TABLES.spanResources }, value: 1 }),
    ])
    state.failing = false
    await writer.store([resource(3)])
    expect(state.writes).toBe(2)
    await writer.store([resource(3)])
    expect(state.writes).toBe(2)
  })
})
