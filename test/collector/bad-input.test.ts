import http from 'node:http'
import type { Socket } from 'node:net'
import { gzipSync } from 'node:zlib'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TABLES } from '../../store/tables.ts'
import { expectProductError } from '../support/errors.ts'
import { readableSpan } from '../support/readable-span.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

const LIMIT = 64 * 1024
let sb: TestSignalbox
beforeAll(async () => {
  sb = await startSignalbox({ SIGNALBOX_MAX_BODY_BYTES: String(LIMIT), SIGNALBOX_MAX_HEADER_BYTES: '8192' })
})
afterAll(async () => {
  // Nothing any test here sent may have been written.
  expect(await sb.count(TABLES.spans)).toBe(0)
  expect(await sb.count(TABLES.logs)).toBe(0)
  expect(await sb.count(TABLES.events)).toBe(0)
  const health = await fetch(`${sb.apiUrl}/api/health`)
  expect(health.status).toBe(200)
  await sb.close()
})

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const now = Date.now()
const goodSpan = (i: number) =>
  readableSpan({
    traceId: TRACE,
    spanId: `00f067aa0ba9${String(1000 + i)}`,
    name: 'sync',
    startMs: now,
    durationMs: 5,
  })

async function post(path: string, body: string | Uint8Array, headers: Record<string, string>) {
  const res = await fetch(`${sb.collectorUrl}${path}`, { method: 'POST', body: body as BodyInit, headers })
  const text = await res.text()
  return {
    status: res.status,
    body: text ? (JSON.parse(text) as { error: { code: string; message: string } }) : undefined,
  }
}

const protobuf = { 'content-type': 'application/x-protobuf' }
const json = { 'content-type': 'application/json' }
const structured = { 'content-type': 'application/cloudevents+json' }

describe('malformed OTLP', () => {
  it('refuses bytes that are not protobuf', async () => {
    const r = await post('/v1/traces', new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]), protobuf)
    expect(r.status).toBe(400)
    expect(r.body?.error.code).toBe('invalid_protobuf')
    expect(r.body?.error.message).toMatch(/malformed protobuf/)
  })

  it('refuses a truncated protobuf request', async () => {
    const full = ProtobufTraceSerializer.serializeRequest([goodSpan(1), goodSpan(2)]) as Uint8Array
    const r = await post('/v1/traces', full.subarray(0, full.length - 7), protobuf)
    expect(r.status).toBe(400)
    expect(r.body?.error.code).toBe('invalid_protobuf')
  })

  it('refuses a request with one invalid span id among valid spans, writing none of them', async () => {
    const bad = readableSpan({
      traceId: TRACE,
      spanId: '0000000000000000',
      name: 'bad',
      startMs: now,
      durationMs: 1,
    })
    const body = ProtobufTraceSerializer.serializeRequest([goodSpan(1), bad, goodSpan(2)]) as Uint8Array
    const r = await post('/v1/traces', body, protobuf)
    expect(r.status).toBe(400)
    expect(r.body?.error.code).toBe('invalid_span_id')
    expect(r.body?.error.message).toContain('resourceSpans[0].scopeSpans[0].spans[1].spanId')
  })

  it('refuses JSON that does not parse', async () => {
    const r = await post('/v1/traces', '{"resourceSpans": [', json)
    expect(r.status).toBe(400)
    expect(r.body?.error.code).toBe('invalid_json')
  })

  it('refuses an OTLP/JSON span with a short trace id, naming where it is', async () => {
    const body = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: 'abc',
                  spanId: '00f067aa0ba902b7',
                  name: 'x',
                  startTimeUnixNano: String(BigInt(now) * 1_000_000n),
                },
              ],
            },
          ],
        },
      ],
    }
    const r = await post('/v1/traces', JSON.stringify(body), json)
    expect(r.status).toBe(400)
    expect(r.body?.error.code).toBe('invalid_trace_id')
    expect(r.body?.error.message).toContain('resourceSpans[0].scopeSpans[0].spans[0].traceId')
  })

  it('refuses OTLP/JSON with fields of the wrong type', async () => {
    const r = await post(
      '/v1/logs',
      JSON.stringify({ resourceLogs: [{ scopeLogs: { logRecords: [] } }] }),
      json,
    )
    expect(r.status).toBe(400)
    expect(r.body?.error).toMatchObject({
      code: 'invalid_otlp_json',
      message: 'resourceLogs[0].scopeLogs: must be an array',
    })
  })

  it('refuses a body that is not valid gzip', async () => {
    const r = await post('/v1/traces', new Uint8Array([1, 2, 3, 4]), {
      ...protobuf,
      'content-encoding': 'gzip',
    })
    expect(r.status).toBe(400)
    expect(r.body?.error.code).toBe('invalid_gzip')
  })
})

describe('limits and media types', () => {
  it('answers 413 to a body over the limit', async () => {
    const r = await post('/v1/traces', new Uint8Array(LIMIT + 1), protobuf)
    expect(r.status).toBe(413)
    expect(r.body?.error.code).toBe('payload_too_large')
  })

  it('reads a streamed body (no Content-Length) to its end, and refuses it once past the limit', async () => {
    const streamed = (chunks: readonly Uint8Array[]) =>
      fetch(`${sb.collectorUrl}/v1/traces`, {
        method: 'POST',
        headers: protobuf,
        body: new ReadableStream({
          start(c) {
            for (const chunk of chunks) c.enqueue(chunk)
            c.close()
          },
        }),
        duplex: 'half',
      } as RequestInit)
    const full = ProtobufTraceSerializer.serializeRequest([goodSpan(1), goodSpan(2)]) as Uint8Array
    // Split in three and cut short: every chunk is read, and what they make is judged (not protobuf).
    const cut = full.subarray(0, full.length - 7)
    const short = await streamed([cut.subarray(0, 10), cut.subarray(10, 40), cut.subarray(40)])
    expect(short.status).toBe(400)
    expect(((await short.json()) as { error: { code: string } }).error.code).toBe('invalid_protobuf')
    const over = await streamed([new Uint8Array(LIMIT / 2), new Uint8Array(LIMIT / 2), new Uint8Array(1)])
    expect(over.status).toBe(413)
    expect(((await over.json()) as { error: { code: string } }).error.code).toBe('payload_too_large')
  })

  it('answers 413 to an upload far over the limit and lets its connection go, not hang on it', async () => {
    // Megabytes more than the socket buffers hold: the read stops at the limit with the sender still
    // sending. The server must then close the connection (its HTTP layer gives an unread body 500 ms
    // to drain), not hold it open on a paused socket.
    const agent = new http.Agent({ keepAlive: true })
    const url = new URL(`${sb.collectorUrl}/v1/traces`)
    const { status, closed } = await new Promise<{ status: number; closed: Promise<void> }>(
      (resolve, reject) => {
        const req = http.request(url, { method: 'POST', agent, headers: protobuf }, (res) => {
          res.resume()
          const socket = req.socket as Socket
          resolve({
            status: res.statusCode ?? 0,
            closed: new Promise((done) => socket.once('close', () => done())),
          })
        })
        req.on('error', () => {}) // the server may close while this still writes
        req.on('socket', (s) => s.on('error', reject))
        const chunk = Buffer.alloc(64 * 1024)
        let sent = 0
        const pump = () => {
          while (sent < 64 * chunk.length) {
            sent += chunk.length
            if (!req.write(chunk)) return void req.once('drain', pump)
          }
          req.end()
        }
        pump()
      },
    )
    expect(status).toBe(413)
    await closed
    agent.destroy()
  })

  it('counts a sender that hangs up mid-body as client_closed, not as an internal error', async () => {
    const metrics = async () => (await fetch(`${sb.collectorUrl}/metrics`)).text()
    const series = (text: string) =>
      Number(
        text
          .split('\n')
          .find(
            (l) => l.startsWith('signalbox_collector_refused_requests_total{') && l.includes('client_closed'),
          )
          ?.split(' ')
          .pop() ?? 0,
      )
    const before = series(await metrics())
    const url = new URL(`${sb.collectorUrl}/v1/traces`)
    await new Promise<void>((resolve) => {
      const req = http.request(url, { method: 'POST', headers: { ...protobuf, 'content-length': '1000' } })
      req.on('error', () => resolve())
      req.write(Buffer.alloc(100), () => setImmediate(() => req.destroy()))
      req.on('close', () => resolve())
    })
    await expect.poll(async () => series(await metrics())).toBe(before + 1)
    expect((await metrics()).match(/refused_requests_total\{[^}]*reason="internal"/)).toBeNull()
  })

  it('answers 413 to a gzip bomb: small on the wire, huge inflated', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * LIMIT))
    expect(bomb.length).toBeLessThan(LIMIT)
    const r = await post('/v1/traces', bomb, { ...protobuf, 'content-encoding': 'gzip' })
    expect(r.status).toBe(413)
  })

  it('answers 431 to headers over the limit, at the collector (counted) and at the api', async () => {
    const counted = async () => {
      const text = await (await fetch(`${sb.collectorUrl}/metrics`)).text()
      const line = text.split('\n').find((l) => l.includes('reason="header_too_large"'))
      return Number(line?.split(' ').pop() ?? 0)
    }
    const before = await counted()
    const padding = { 'x-padding': 'p'.repeat(10_000) }
    expect((await post('/v1/traces', new Uint8Array(0), { ...protobuf, ...padding })).status).toBe(431)
    // Refused by the HTTP server itself, before any route: still counted.
    expect(await counted()).toBe(before + 1)
    expect((await fetch(`${sb.apiUrl}/api/health`, { headers: padding })).status).toBe(431)
    const fits = { 'x-padding': 'p'.repeat(4_000) }
    expect((await fetch(`${sb.apiUrl}/api/health`, { headers: fits })).status).toBe(200)
  })

  it('answers 405 with Allow: POST to another method on an ingest route', async () => {
    for (const path of ['/v1/traces', '/v1/logs', '/v1/events']) {
      const res = await fetch(`${sb.collectorUrl}${path}`, { method: 'GET' })
      expect(res.status, path).toBe(405)
      expect(res.headers.get('allow')).toBe('POST')
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('method_not_allowed')
    }
  })

  it('answers 415 to an unsupported content type or encoding', async () => {
    expect((await post('/v1/traces', 'x', { 'content-type': 'text/plain' })).status).toBe(415)
    expect((await post('/v1/logs', 'x', { 'content-type': 'application/xml' })).status).toBe(415)
    const br = await post('/v1/traces', 'x', { ...protobuf, 'content-encoding': 'br' })
    expect(br.status).toBe(415)
    const events = await post('/v1/events', '{}', json)
    expect(events.status).toBe(415)
    expect(events.body?.error.message).toContain('application/cloudevents+json')
  })
})

describe('malformed CloudEvents', () => {
  const event = {
    specversion: '1.0',
    id: 'e-1',
    source: 'urn:shop',
    type: 'retail.order.created',
    subject: 'SO-1',
  }

  it.each([
    ['type', { ...event, type: undefined }],
    ['source', { ...event, source: undefined }],
    ['id', { ...event, id: undefined }],
  ])('refuses a structured event without %s', async (attribute, body) => {
    const r = await post('/v1/events', JSON.stringify(body), structured)
    expect(r.status).toBe(400)
    expect(r.body?.error.code).toBe('invalid_cloudevent')
    expect(r.body?.error.message).toContain(attribute)
  })

  it('refuses a binary event without ce-type', async () => {
    const r = await post('/v1/events', '{}', {
      ...json,
      'ce-specversion': '1.0',
      'ce-id': 'b-1',
      'ce-source': 'urn:x',
    })
    expect(r.status).toBe(400)
    expect(r.body?.error.code).toBe('invalid_cloudevent')
  })

  it('refuses a whole batch when one event in it is invalid', async () => {
    const r = await post('/v1/events', JSON.stringify([event, { ...event, id: 'e-2', source: undefined }]), {
      'content-type': 'application/cloudevents-batch+json',
    })
    expect(r.status).toBe(400)
  })

  it('refuses a bad time and a time outside the retained window', async () => {
    const bad = await post('/v1/events', JSON.stringify({ ...event, time: 'yesterday' }), structured)
    expect(bad.status).toBe(400)
    // A day its month does not have is no time at all, not the 2nd of March.
    const impossible = await post(
      '/v1/events',
      JSON.stringify({ ...event, time: '2026-02-30T10:00:00Z' }),
      structured,
    )
    expect(impossible.status).toBe(400)
    expect(impossible.body?.error.message).toBe(
      "event.time: '2026-02-30T10:00:00Z' is not an RFC 3339 timestamp",
    )
    // Data may nest deeper than attribute values: the refusal says its own limit.
    let data: unknown = 'x'
    for (let i = 0; i < 70; i++) data = { d: data }
    const deep = await post('/v1/events', JSON.stringify({ ...event, data }), structured)
    expect(deep.status).toBe(400)
    expect(deep.body?.error.message).toBe('event.data: values nested deeper than 64 levels are not accepted')
    const ancient = await post(
      '/v1/events',
      JSON.stringify({ ...event, time: '1999-01-01T00:00:00Z' }),
      structured,
    )
    expect(ancient.status).toBe(400)
    expect(ancient.body?.error.code).toBe('time_out_of_range')
  })

  it('refuses malformed JSON, a 10 kB id or dataschema, and a 20 kB extension value', async () => {
    expect((await post('/v1/events', '{"specversion":', structured)).status).toBe(400)
    const long = await post('/v1/events', JSON.stringify({ ...event, id: 'x'.repeat(10_000) }), structured)
    expect(long.status).toBe(400)
    const schema = await post(
      '/v1/events',
      JSON.stringify({ ...event, dataschema: `https://x/${'s'.repeat(10_000)}` }),
      structured,
    )
    expect(schema.body?.error.message).toBe('event.dataschema: longer than 1024 characters')
    const extension = await post(
      '/v1/events',
      JSON.stringify({ ...event, note: 'n'.repeat(20_000) }),
      structured,
    )
    expect(extension.body?.error.message).toBe('event.note: an extension value longer than 16384 characters')
  })

  // A structured or batch content type with ce-* headers as well: the content type decides the
  // mode (CloudEvents HTTP binding, 3.1), so the body is what is judged, never the SDK's guess.
  const ceHeaders = { 'ce-specversion': '1.0', 'ce-id': 'h-1', 'ce-source': 'urn:x', 'ce-type': 'retail.x' }
  const batch = { 'content-type': 'application/cloudevents-batch+json' }

  it.each([
    ['a batch that is an object', '{}', { ...batch, ...ceHeaders }, /array/],
    ['a batch that is null', 'null', batch, /array/],
    ['a batch of null', '[null]', batch, /events\[0\]: must be a JSON object/],
    ['a structured event that is null', 'null', { ...structured, ...ceHeaders }, /JSON object/],
    ['a structured event that is an array', '[]', { ...structured, ...ceHeaders }, /JSON object/],
    ['a structured event that is a number', '42', structured, /JSON object/],
    ['structured JSON cut short', '{"specversion":', { ...structured, ...ceHeaders }, /not valid JSON/],
    ['a batch that is not JSON', '[{', batch, /not valid JSON/],
    ['an object subject', JSON.stringify({ ...event, subject: {} }), structured, /event\.subject/],
    ['a number as time', JSON.stringify({ ...event, time: 1700000000 }), structured, /event\.time/],
    ['a time that is not a time', JSON.stringify({ ...event, time: 'yesterday' }), structured, /event\.time/],
    ['a number as data_base64', JSON.stringify({ ...event, data_base64: 7 }), structured, /data_base64/],
    [
      'an array as datacontenttype',
      JSON.stringify({ ...event, datacontenttype: [] }),
      structured,
      /datacontenttype/,
    ],
    [
      'a bad time in the second event of a batch',
      JSON.stringify([event, { ...event, id: 'e-2', time: 'soon' }]),
      batch,
      /events\[1\]\.time/,
    ],
    [
      'binary JSON data that is not JSON',
      '{"total":',
      { ...json, ...ceHeaders },
      /event\.data: .*not valid JSON/,
    ],
    ['binary mode without ce-id', '{}', { ...json, 'ce-specversion': '1.0', 'ce-source': 'urn:x' }, /'id'/],
    [
      'a structured media type that is not JSON',
      '<event/>',
      { 'content-type': 'application/cloudevents+xml', ...ceHeaders },
      /application\/cloudevents\+json/,
    ],
  ])('refuses %s with its own message', async (_, body, headers, message) => {
    const r = await post('/v1/events', body, headers as Record<string, string>)
    expectProductError(r.status, r.body)
    expect(r.body.error.message).toMatch(message)
  })
})

describe('OTLP partial success', () => {
  it('reports spans outside the retained window as rejected, in a response the official deserializer reads', async () => {
    const stale = readableSpan({
      traceId: TRACE,
      spanId: '00f067aa0ba90001',
      name: 'stale',
      startMs: now - 400 * 86_400_000,
      durationMs: 1,
    })
    const res = await fetch(`${sb.collectorUrl}/v1/traces`, {
      method: 'POST',
      headers: protobuf,
      body: ProtobufTraceSerializer.serializeRequest([stale]) as BodyInit,
    })
    expect(res.status).toBe(200)
    const decoded = ProtobufTraceSerializer.deserializeResponse(new Uint8Array(await res.arrayBuffer()))
    expect(Number(decoded.partialSuccess?.rejectedSpans)).toBe(1)
    expect(decoded.partialSuccess?.errorMessage).toMatch(/outside the retained window/)
  })
})
