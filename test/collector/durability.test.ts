import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterEach, describe, expect, it } from 'vitest'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import { readableSpan } from '../support/readable-span.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'
import { admittedBytes, heldUpload } from '../support/uploads.ts'

let sb: TestSignalbox | undefined
afterEach(async () => {
  await sb?.close()
  sb = undefined
})

const TRACE = '5bf92f3577b34da6a3ce929d0e0e4736'
const spans = (n: number, prefix = 'aa') =>
  Array.from({ length: n }, (_, i) =>
    readableSpan({
      traceId: TRACE,
      spanId: `${prefix}${String(i).padStart(14, '0')}`,
      name: 'sync',
      startMs: Date.now(),
      durationMs: 3,
    }),
  )
const post = (url: string, n: number, prefix?: string) =>
  fetch(`${url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: ProtobufTraceSerializer.serializeRequest(spans(n, prefix)) as BodyInit,
  })

describe('backpressure', () => {
  it('answers 413 to more rows than the queue holds, 429 with Retry-After when it is full, and writes neither', async () => {
    // Bodies in hand may hold a quarter of the queue's bytes: 50,000 here.
    sb = await startSignalbox({ SIGNALBOX_QUEUE_MAX_ROWS: '5', SIGNALBOX_QUEUE_MAX_BYTES: '200000' })
    const tooLarge = await post(sb.collectorUrl, 10)
    expect(tooLarge.status).toBe(413)
    expect(tooLarge.headers.get('retry-after')).toBeNull()
    expect(((await tooLarge.json()) as { error: { message: string } }).error.message).toMatch(
      /holds 10 spans rows and the write queue at most 5/,
    )
    const slow = heldUpload(sb.collectorUrl, 65_000, 60_000)
    const url = sb.collectorUrl
    await expect.poll(() => admittedBytes(url)).toBe(60_000)
    const refused = await post(sb.collectorUrl, 3, 'cc')
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('1')
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('queue_full')
    slow.end()
    await expect.poll(() => admittedBytes(url)).toBe(0)
    const accepted = await post(sb.collectorUrl, 3, 'bb')
    expect(accepted.status).toBe(200)
    expect(await sb.count(TABLES.spans)).toBe(3)
  })

  it('answers 503 with Retry-After while the store fails, and the official exporter retries until it lands', async () => {
    sb = await startSignalbox()
    const running = sb
    await running.store.command(`DETACH TABLE ${TABLES.spans}`)
    const failing = await post(running.collectorUrl, 2)
    expect(failing.status).toBe(503)
    expect(failing.headers.get('retry-after')).toBe('1')

    const provider = new BasicTracerProvider({
      spanProcessors: [
        new SimpleSpanProcessor(
          new OTLPTraceExporter({ url: `${running.collectorUrl}/v1/traces`, timeoutMillis: 30_000 }),
        ),
      ],
    })
    const span = provider
      .getTracer('t')
      .startSpan('posted during the outage', { attributes: { 'retail.order.id': 'SO-OUTAGE' } })
    span.end()
    const flushed = provider.forceFlush()
    // Let the first attempts fail against the detached table, then bring the store back.
    await expect
      .poll(
        () => running.collector?.pipeline.metrics.flushFailures.get().then((m) => m.values[0]?.value ?? 0),
        { timeout: 10_000 },
      )
      .toBeGreaterThanOrEqual(2)
    await running.store.command(`ATTACH TABLE ${TABLES.spans}`)
    await flushed
    await provider.shutdown()
    const rows = await running.rows<{ name: string }>(sql`SELECT name FROM ${table(TABLES.spans)}`)
    expect(rows).toEqual([{ name: 'posted during the outage' }])
  })
})

describe('shutdown', () => {
  it('writes queued rows before stopping, and answers their senders 200', async () => {
    sb = await startSignalbox({ SIGNALBOX_BATCH_MAX_WAIT_MS: '600000', SIGNALBOX_BATCH_MAX_ROWS: '100000' })
    const running = sb
    const pending = post(running.collectorUrl, 4)
    await expect.poll(() => running.collector?.pipeline.queuedRows).toBe(4)
    await running.collector?.close()
    expect((await pending).status).toBe(200)
    expect(await running.count(TABLES.spans)).toBe(4)
  })
})
