import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SpanKind } from '@opentelemetry/api'
import { ExportResultCode } from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { afterAll, describe, expect, it } from 'vitest'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import { readableSpan } from '../support/readable-span.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

/*
 * The same span delivered twice — in one request, in two, across a restart — is counted once
 * everywhere a user looks: the trace, the lifecycle, the rollups behind connector health and SLIs.
 * The spans are sent by the official OTLP exporter, as a connector's SDK would after a timeout.
 */

const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-once-'))
let sb: TestSignalbox | undefined
afterAll(async () => {
  await sb?.close() // removes dataDir
  rmSync(dataDir, { recursive: true, force: true })
})

const resource = resourceFromAttributes({
  'service.name': 'connector-order-to-cash',
  'integration.connector': 'order-to-cash',
})
const now = Date.now()

function orderSpans(orderId: string, trace: string): ReadableSpan[] {
  const attributes = { 'retail.order.id': orderId, 'integration.flow': 'order_to_cash' }
  return [
    readableSpan({
      traceId: trace,
      spanId: `${trace.slice(0, 8)}00000001`,
      name: 'sync order',
      kind: SpanKind.CONSUMER,
      startMs: now - 2000,
      durationMs: 40,
      attributes: { ...attributes, 'integration.stage': 'erp_posted' },
      resource,
    }),
    readableSpan({
      traceId: trace,
      spanId: `${trace.slice(0, 8)}00000002`,
      parentSpanId: `${trace.slice(0, 8)}00000001`,
      name: 'POST /erp/salesorders',
      kind: SpanKind.CLIENT,
      startMs: now - 1990,
      durationMs: 20,
      attributes: { ...attributes, 'integration.system': 'erp' },
      resource,
    }),
  ]
}

async function exportSpans(collectorUrl: string, spans: ReadableSpan[]): Promise<void> {
  const exporter = new OTLPTraceExporter({ url: `${collectorUrl}/v1/traces` })
  const result = await new Promise<{ code: ExportResultCode; error?: Error }>((resolve) =>
    exporter.export(spans, resolve),
  )
  await exporter.shutdown()
  expect(result.error).toBeUndefined()
  expect(result.code).toBe(ExportResultCode.SUCCESS)
}

/** What each read a user sees gives for one order's trace. */
async function seen(s: TestSignalbox, orderId: string, trace: string) {
  const traceRes = (await (await fetch(`${s.apiUrl}/api/traces/${trace}`)).json()) as { spans: unknown[] }
  const lifecycle = (await (await fetch(`${s.apiUrl}/api/orders/${orderId}/lifecycle`)).json()) as {
    timeline: Array<{ kind: string; traceId: string }>
  }
  const one = async (q: ReturnType<typeof sql>) => Number((await s.rows<{ n: string }>(q))[0]?.n ?? 0)
  return {
    traceSpans: traceRes.spans.length,
    timelineSpans: lifecycle.timeline.filter((t) => t.kind === 'span').length,
    storedSpans: await one(sql`SELECT count() AS n FROM ${table(TABLES.spans)} WHERE trace_id = ${trace}`),
    traceIndex: await one(
      sql`SELECT sum(span_count) AS n FROM ${table(TABLES.traceIndex)} WHERE trace_id = ${trace}`,
    ),
    entityIndex: await one(
      sql`SELECT sum(span_count) AS n FROM ${table(TABLES.entityIndex)} WHERE entity_type = 'order' AND entity_id = ${orderId}`,
    ),
    flowMinutes: await one(
      sql`SELECT sum(spans) AS n FROM ${table(TABLES.flowMinutes)} WHERE flow = 'order_to_cash' AND connector = 'order-to-cash'`,
    ),
    sliTotal: await one(
      sql`SELECT sum(total) AS n FROM ${table(TABLES.sliMinutes)} WHERE scope = 'system' AND key = 'erp'`,
    ),
  }
}

describe('exactly once for spans', () => {
  it('a batch sent twice, and a span inside two different batches, are stored and counted once', async () => {
    sb = await startSignalbox({ SIGNALBOX_DATA_DIR: dataDir })
    const a = orderSpans('SO-ONCE-1', 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1')
    await exportSpans(sb.collectorUrl, a)
    await exportSpans(sb.collectorUrl, a) // the exporter's retry after a timeout
    const b = orderSpans('SO-ONCE-2', 'b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2')
    await exportSpans(sb.collectorUrl, [b[0] as ReadableSpan])
    await exportSpans(sb.collectorUrl, [b[0] as ReadableSpan, b[1] as ReadableSpan]) // regrouped by a collector
    // And the same span twice in one request, concurrently with its own retry.
    await Promise.all([exportSpans(sb.collectorUrl, [...a, ...a]), exportSpans(sb.collectorUrl, a)])

    const expected = {
      traceSpans: 2,
      timelineSpans: 2,
      storedSpans: 2,
      traceIndex: 2,
      entityIndex: 2,
    }
    expect(await seen(sb, 'SO-ONCE-1', 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1')).toMatchObject(expected)
    expect(await seen(sb, 'SO-ONCE-2', 'b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2')).toMatchObject({
      ...expected,
      flowMinutes: 4,
      sliTotal: 2,
    })
  })

  it('a batch resent after a restart is still counted once', async () => {
    await sb?.stop()
    sb = await startSignalbox({ SIGNALBOX_DATA_DIR: dataDir })
    await exportSpans(sb.collectorUrl, orderSpans('SO-ONCE-1', 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1'))
    expect(await seen(sb, 'SO-ONCE-1', 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1')).toMatchObject({
      traceSpans: 2,
      timelineSpans: 2,
      storedSpans: 2,
      traceIndex: 2,
      entityIndex: 2,
      flowMinutes: 4,
      sliTotal: 2,
    })
    const metrics = await (await fetch(`${sb.collectorUrl}/metrics`)).text()
    expect(metrics).toMatch(/signalbox_collector_duplicate_spans_total 2\b/)
  })

  // A server may have other collectors writing to it: there every trace is looked up in the store.
  const embedded = !process.env.SIGNALBOX_TEST_CLICKHOUSE_URL
  it(`fresh traces are settled by ${embedded ? 'the filter of written traces' : 'the store'}, and retries still caught`, async () => {
    const s = sb as TestSignalbox
    const metric = async (pattern: RegExp) =>
      Number((await (await fetch(`${s.collectorUrl}/metrics`)).text()).match(pattern)?.[1] ?? 0)
    // Loaded: the two traces stored before the restart are in it.
    if (embedded)
      await expect.poll(() => metric(/^signalbox_collector_written_traces (\d+)/m)).toBeGreaterThanOrEqual(2)
    const viaFilter = /signalbox_collector_trace_lookups_total\{via="filter"\} (\d+)/
    const settledBefore = await metric(viaFilter)
    const stored = { traceSpans: 2, timelineSpans: 2, storedSpans: 2, traceIndex: 2, entityIndex: 2 }

    // Stored before the restart: its trace is a "maybe", so the store is asked and the spans dropped.
    await exportSpans(s.collectorUrl, orderSpans('SO-ONCE-2', 'b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2'))
    expect(await seen(s, 'SO-ONCE-2', 'b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2')).toMatchObject(stored)
    // Fresh: settled by the filter; its retry is then caught, as this process wrote it.
    const fresh = orderSpans('SO-ONCE-3', 'c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3')
    await exportSpans(s.collectorUrl, fresh)
    await exportSpans(s.collectorUrl, fresh)
    expect(await seen(s, 'SO-ONCE-3', 'c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3')).toMatchObject(stored)
    expect(await metric(viaFilter)).toBe(settledBefore + (embedded ? 1 : 0))
    expect(await metric(/signalbox_collector_duplicate_spans_total (\d+)/)).toBe(6)
  })
})
