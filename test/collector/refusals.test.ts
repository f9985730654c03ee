import { connect } from 'node:http2'
import * as grpc from '@grpc/grpc-js'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readableSpan } from '../support/readable-span.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'
import { admittedBytes as admitted, heldUpload as held } from '../support/uploads.ts'

/* Every refusal is counted in /metrics by signal, transport, status and reason: 429s sent = 429s counted. */

let sb: TestSignalbox
beforeAll(async () => {
  // Bodies being read take at most a quarter of the queue's bytes: 50,000 here.
  sb = await startSignalbox({
    SIGNALBOX_QUEUE_MAX_ROWS: '5',
    SIGNALBOX_QUEUE_MAX_BYTES: '200000',
    SIGNALBOX_MAX_BODY_BYTES: '65536',
    SIGNALBOX_REQUEST_TIMEOUT_SECONDS: '10',
  })
})
afterAll(async () => {
  await sb?.close()
})

const spans = (n: number) =>
  ProtobufTraceSerializer.serializeRequest(
    Array.from({ length: n }, (_, i) =>
      readableSpan({
        traceId: 'd'.repeat(32),
        spanId: `${'e'.repeat(12)}${String(1000 + i)}`,
        name: 'sync',
        startMs: Date.now(),
        durationMs: 1,
      }),
    ),
  ) as Uint8Array

const post = async (path: string, body: string | Uint8Array, type: string) =>
  (
    await fetch(`${sb.collectorUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': type },
      body: body as BodyInit,
    })
  ).status

function grpcExport(body: Uint8Array): Promise<grpc.status> {
  const client = new grpc.Client(sb.grpcUrl.replace('http://', ''), grpc.credentials.createInsecure())
  return new Promise((resolve) =>
    client.makeUnaryRequest(
      '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(body),
      (err) => {
        client.close()
        resolve(err?.code ?? grpc.status.OK)
      },
    ),
  )
}

/**
 * A gRPC call over raw HTTP/2, for what a client library would not send: the status grpc-js answers
 * (its `grpc-status`). `frame`, when given, is sent and the request ended; otherwise the call stays open.
 */
function rawGrpc(headers: Record<string, string>, frame?: Buffer): Promise<string | undefined> {
  const session = connect(sb.grpcUrl)
  const stream = session.request({
    ':method': 'POST',
    ':path': '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    'content-type': 'application/grpc',
    te: 'trailers',
    ...headers,
  })
  if (frame) stream.end(frame)
  return new Promise((resolve) => {
    const take = (h: Record<string, unknown>) => {
      const code = h['grpc-status'] as string | undefined
      if (code === undefined) return
      stream.close()
      session.close()
      resolve(code)
    }
    stream.on('response', take)
    stream.on('trailers', take)
    stream.resume()
  })
}

const heldUpload = (declared: number, sent: number) => held(sb.collectorUrl, declared, sent)
const admittedBytes = () => admitted(sb.collectorUrl)

/** The value of one series of signalbox_collector_refused_requests_total, 0 when absent. */
async function refused(labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${sb.collectorUrl}/metrics`)).text()
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('signalbox_collector_refused_requests_total{') &&
        Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
    )
  return line ? Number(line.split(' ').pop()) : 0
}

describe('refusals in /metrics', () => {
  it('holds a place for the bytes a sender has sent, not for what it declared', async () => {
    // Two senders that declared nearly the limit each and sent one byte: they hold two bytes.
    const idle = [heldUpload(60_000, 1), heldUpload(60_000, 1)]
    await expect.poll(admittedBytes).toBe(2)
    expect(await post('/v1/traces', spans(2), 'application/x-protobuf')).toBe(200)
    for (const upload of idle) upload.end()
    await expect.poll(admittedBytes).toBe(0)
  })

  it('answers a stalled upload 408 once its time is up, and takes back what it held', async () => {
    const stalled = heldUpload(60_000, 1_000)
    await expect.poll(admittedBytes).toBe(1_000)
    expect(await stalled.answer).toBe(408)
    await expect.poll(admittedBytes).toBe(0)
    expect(await refused({ status: '408', reason: 'request_timeout' })).toBe(1)
  }, 40_000)

  it('lets a gRPC connection open 32 calls at once, not an unlimited number of bodies', async () => {
    const session = connect(sb.grpcUrl)
    const settings = await new Promise<{ maxConcurrentStreams?: number }>((resolve) =>
      session.once('remoteSettings', resolve),
    )
    session.close()
    expect(settings.maxConcurrentStreams).toBe(32)
  })

  it('counts each refusal by status and reason, over HTTP and gRPC', async () => {
    const statuses = [
      await post('/v1/traces', '{"resourceSpans": [', 'application/json'),
      await post('/v1/traces', 'x'.repeat(70_000), 'application/json'),
      await post('/v1/traces', 'hello', 'text/plain'),
      // More rows than the write queue holds: never writable as one request, so not worth a retry.
      await post('/v1/traces', spans(10), 'application/x-protobuf'),
      await post(
        '/v1/events',
        '{"specversion":"2.0","id":"1","source":"s","type":"t"}',
        'application/cloudevents+json',
      ),
    ]
    expect(statuses).toEqual([400, 413, 415, 413, 400])
    // A sender mid-upload holds more than the bytes bodies may take: the others are refused, retryably.
    const slow = heldUpload(65_000, 60_000)
    await expect.poll(admittedBytes).toBe(60_000)
    expect(await post('/v1/traces', spans(2), 'application/x-protobuf')).toBe(429)
    expect(await post('/v1/traces', spans(2), 'application/x-protobuf')).toBe(429)
    expect(await grpcExport(spans(2))).toBe(grpc.status.RESOURCE_EXHAUSTED)
    slow.end()
    await expect.poll(admittedBytes).toBe(0)
    // Over the size limit: grpc-js refuses it before any handler runs, and it is still counted.
    expect(await grpcExport(new Uint8Array(70_000))).toBe(grpc.status.RESOURCE_EXHAUSTED)
    // Flagged gzip-compressed and not gzip; then a call whose 1 ms deadline passes before its message.
    const notGzip = Buffer.concat([Buffer.from([1, 0, 0, 0, 5]), Buffer.from('hello')])
    expect(await rawGrpc({ 'grpc-encoding': 'gzip' }, notGzip)).toBe(String(grpc.status.INTERNAL))
    expect(await rawGrpc({ 'grpc-timeout': '1m' })).toBe(String(grpc.status.DEADLINE_EXCEEDED))

    expect(await refused({ signal: 'spans', status: '400', reason: 'invalid_json' })).toBe(1)
    expect(
      await refused({ signal: 'spans', transport: 'http', status: '413', reason: 'payload_too_large' }),
    ).toBe(2)
    expect(
      await refused({ signal: 'spans', transport: 'grpc', status: '413', reason: 'payload_too_large' }),
    ).toBe(1)
    expect(await refused({ signal: 'spans', status: '415', reason: 'unsupported_media_type' })).toBe(1)
    expect(await refused({ signal: 'spans', transport: 'http', status: '429', reason: 'queue_full' })).toBe(2)
    expect(await refused({ signal: 'spans', transport: 'grpc', status: '429', reason: 'queue_full' })).toBe(1)
    expect(await refused({ signal: 'events', status: '400', reason: 'invalid_cloudevent' })).toBe(1)
    expect(
      await refused({ signal: 'spans', transport: 'grpc', status: '400', reason: 'invalid_message' }),
    ).toBe(1)
    expect(
      await refused({ signal: 'spans', transport: 'grpc', status: '504', reason: 'deadline_exceeded' }),
    ).toBe(1)
  })
})
