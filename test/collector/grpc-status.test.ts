import * as grpc from '@grpc/grpc-js'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGrpcCollector } from '../../collector/grpc.ts'
import { CollectorMetrics } from '../../collector/metrics.ts'
import type { IngestPipeline } from '../../collector/pipeline.ts'
import { createLogger } from '../../core/logger.ts'
import { TABLES } from '../../store/tables.ts'
import { readableSpan } from '../support/readable-span.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'
import { admittedBytes, heldUpload } from '../support/uploads.ts'

/*
 * A retryable gRPC refusal must carry google.rpc.RetryInfo in `grpc-status-details-bin`: OTLP exporters
 * (the OpenTelemetry Collector's among them) retry RESOURCE_EXHAUSTED only when it is there, and
 * otherwise drop the data. The status is decoded here by hand, independently of the collector's encoder.
 */

const TRACE_EXPORT = '/opentelemetry.proto.collector.trace.v1.TraceService/Export'
const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo'

const spans = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) =>
    readableSpan({
      traceId: '5bf92f3577b34da6a3ce929d0e0e4736',
      spanId: `${prefix}${String(i).padStart(14, '0')}`,
      name: 'sync',
      startMs: Date.now(),
      durationMs: 3,
    }),
  )

/** One raw unary Export call; resolves with the status (and its trailers) whatever the outcome. */
async function exportSpans(
  grpcUrl: string,
  n: number,
  prefix: string,
  deadline = Number.POSITIVE_INFINITY,
): Promise<grpc.StatusObject> {
  const client = new grpc.Client(new URL(grpcUrl).host, grpc.credentials.createInsecure())
  const body = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans(n, prefix)) as Uint8Array)
  try {
    return await new Promise<grpc.StatusObject>((resolve) => {
      const call = client.makeUnaryRequest(
        TRACE_EXPORT,
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        { deadline },
        () => {},
      )
      call.on('status', resolve)
    })
  } finally {
    client.close()
  }
}

type Field = { number: number; varint?: bigint; bytes?: Buffer }

/** The top-level fields of one protobuf message (varint and length-delimited wire types only). */
function fields(buf: Buffer): Field[] {
  const out: Field[] = []
  let pos = 0
  const varint = (): bigint => {
    let v = 0n
    for (let shift = 0n; ; shift += 7n) {
      const b = buf[pos++]
      if (b === undefined) throw new Error('truncated varint')
      v |= BigInt(b & 0x7f) << shift
      if (b < 0x80) return v
    }
  }
  while (pos < buf.length) {
    const tag = Number(varint())
    const wire = tag & 7
    if (wire === 0) out.push({ number: tag >>> 3, varint: varint() })
    else if (wire === 2) {
      const len = Number(varint())
      out.push({ number: tag >>> 3, bytes: buf.subarray(pos, pos + len) })
      pos += len
    } else throw new Error(`unexpected wire type ${wire}`)
  }
  return out
}

interface DecodedStatus {
  code: number
  message: string
  retryDelay?: { seconds: number; nanos: number }
}

/** google.rpc.Status from `grpc-status-details-bin`, with the RetryInfo among its details if any. */
function richStatus(status: grpc.StatusObject): DecodedStatus {
  const [bin] = status.metadata.get('grpc-status-details-bin')
  expect(bin).toBeInstanceOf(Buffer)
  const decoded: DecodedStatus = { code: 0, message: '' }
  for (const f of fields(bin as Buffer)) {
    if (f.number === 1) decoded.code = Number(f.varint)
    if (f.number === 2) decoded.message = (f.bytes as Buffer).toString('utf8')
    if (f.number !== 3) continue
    const any = fields(f.bytes as Buffer)
    if (any.find((a) => a.number === 1)?.bytes?.toString('utf8') !== RETRY_INFO_TYPE) continue
    const retryInfo = fields(any.find((a) => a.number === 2)?.bytes ?? Buffer.alloc(0))
    const duration = fields(retryInfo.find((r) => r.number === 1)?.bytes ?? Buffer.alloc(0))
    decoded.retryDelay = {
      seconds: Number(duration.find((d) => d.number === 1)?.varint ?? 0n),
      nanos: Number(duration.find((d) => d.number === 2)?.varint ?? 0n),
    }
  }
  return decoded
}

describe('retryable gRPC refusals from the running collector', () => {
  let sb: TestSignalbox
  beforeAll(async () => {
    // Bodies in hand may hold a quarter of the queue's bytes: 50,000 here.
    sb = await startSignalbox({ SIGNALBOX_QUEUE_MAX_ROWS: '5', SIGNALBOX_QUEUE_MAX_BYTES: '200000' })
  })
  afterAll(async () => {
    await sb?.close()
  })

  it('answers a full queue with RESOURCE_EXHAUSTED carrying RetryInfo, and keeps retry-after', async () => {
    const slow = heldUpload(sb.collectorUrl, 65_000, 60_000)
    await expect.poll(() => admittedBytes(sb.collectorUrl)).toBe(60_000)
    const status = await exportSpans(sb.grpcUrl, 3, 'aa')
    slow.end()
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED)
    expect(status.metadata.get('retry-after')).toEqual(['1'])
    const rich = richStatus(status)
    expect(rich.code).toBe(grpc.status.RESOURCE_EXHAUSTED)
    expect(rich.message).toBe(status.details)
    expect(rich.retryDelay?.seconds).toBeGreaterThanOrEqual(1)
    expect(await sb.count(TABLES.spans)).toBe(0)
    await expect.poll(() => admittedBytes(sb.collectorUrl)).toBe(0)
  })

  it('answers more rows than the queue holds with RESOURCE_EXHAUSTED and no RetryInfo: not to be retried', async () => {
    const status = await exportSpans(sb.grpcUrl, 10, 'ab')
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED)
    expect(status.details).toMatch(/^payload_too_large: /)
    expect(status.metadata.get('retry-after')).toEqual([])
    expect(status.metadata.get('grpc-status-details-bin')).toEqual([])
    expect(await sb.count(TABLES.spans)).toBe(0)
  })

  it('answers a failing store with UNAVAILABLE carrying RetryInfo', async () => {
    await sb.store.command(`DETACH TABLE ${TABLES.spans}`)
    try {
      const status = await exportSpans(sb.grpcUrl, 2, 'bb')
      expect(status.code).toBe(grpc.status.UNAVAILABLE)
      expect(status.metadata.get('retry-after')).toEqual(['1'])
      const rich = richStatus(status)
      expect(rich.code).toBe(grpc.status.UNAVAILABLE)
      expect(rich.retryDelay?.seconds).toBeGreaterThanOrEqual(1)
    } finally {
      await sb.store.command(`ATTACH TABLE ${TABLES.spans}`)
    }
  })

  it('sends no status details on a success', async () => {
    // The store refuses writes for a moment after a failure (the test above): wait that out.
    await expect
      .poll(async () => (await exportSpans(sb.grpcUrl, 1, 'cc')).code, { timeout: 15_000, interval: 250 })
      .toBe(grpc.status.OK)
    const status = await exportSpans(sb.grpcUrl, 1, 'dd')
    expect(status.code).toBe(grpc.status.OK)
    expect(status.metadata.get('grpc-status-details-bin')).toEqual([])
  })
})

describe("the auth check's rate-limit refusal", () => {
  const unused = { metrics: new CollectorMetrics({ processMetrics: false }) } as unknown as IngestPipeline
  let collector: { port: number; close: () => Promise<void> }
  beforeAll(async () => {
    collector = await startGrpcCollector(
      unused,
      {
        host: '127.0.0.1',
        otlpGrpcPort: 0,
        ingest: {
          maxBodyBytes: 4 << 20,
          maxHeaderBytes: 16 << 10,
        },
      },
      createLogger('silent'),
      async () => ({
        refused: { status: 429, message: 'key k1 sent too many requests', retryAfterSeconds: 7 },
      }),
    )
  })
  afterAll(async () => {
    await collector?.close()
  })

  it('answers RESOURCE_EXHAUSTED with RetryInfo for the wait the limiter gave, and retry-after', async () => {
    const status = await exportSpans(`http://127.0.0.1:${collector.port}`, 1, 'ee')
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED)
    expect(status.metadata.get('retry-after')).toEqual(['7'])
    const rich = richStatus(status)
    expect(rich.code).toBe(grpc.status.RESOURCE_EXHAUSTED)
    expect(rich.message).toBe('key k1 sent too many requests')
    expect(rich.retryDelay).toEqual({ seconds: 7, nanos: 0 })
  })
})

describe("a refusal that comes after the call's deadline", () => {
  const metrics = new CollectorMetrics({ processMetrics: false })
  const counted = async () =>
    (await metrics.refusedRequests.get()).values.map((v) => [v.labels.status, v.labels.reason, v.value])
  let collector: { port: number; close: () => Promise<void> }
  let release: () => void
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  let checked: () => void
  const checkedOnce = new Promise<void>((resolve) => {
    checked = resolve
  })
  beforeAll(async () => {
    collector = await startGrpcCollector(
      { metrics } as unknown as IngestPipeline,
      { host: '127.0.0.1', otlpGrpcPort: 0, ingest: { maxBodyBytes: 4 << 20, maxHeaderBytes: 16 << 10 } },
      createLogger('silent'),
      // A check that answers only once grpc-js has answered the call's deadline.
      async () => {
        await released
        checked()
        return { refused: { status: 401, message: 'unknown key' } }
      },
    )
  })
  afterAll(async () => {
    release()
    await collector?.close()
  })

  it('is counted once, as the deadline grpc-js answered, not again as the refusal no one receives', async () => {
    const status = await exportSpans(`http://127.0.0.1:${collector.port}`, 1, 'ff', Date.now() + 50)
    expect(status.code).toBe(grpc.status.DEADLINE_EXCEEDED)
    // The server's own deadline answer, counted; only then does the handler refuse.
    await expect.poll(counted, { timeout: 5_000, interval: 20 }).toEqual([[504, 'deadline_exceeded', 1]])
    release()
    await checkedOnce
    // The handler's answer goes out on the next turns of the event loop.
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve))
    expect(await counted()).toEqual([[504, 'deadline_exceeded', 1]])
  })
})
