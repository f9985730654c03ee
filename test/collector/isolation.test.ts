import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import { readableSpan } from '../support/readable-span.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

/*
 * One sender's bad request is judged alone: values the engine would refuse are caught at decode
 * (400 naming the field) or repaired, bystanders sharing the batch are written, and a refused
 * request leaves no row in any table — base tables, views, rollups, indexes.
 */

let sb: TestSignalbox
beforeAll(async () => {
  // A long batch wait puts the poison and the bystanders in the same write.
  sb = await startSignalbox({ SIGNALBOX_BATCH_MAX_WAIT_MS: '150' })
})
afterAll(async () => {
  await sb?.close()
})

const nowNs = BigInt(Date.now()) * 1_000_000n
const POISON_SERVICE = 'poison-sender'

/** An OTLP/JSON body with one span, written as text so it can carry what JSON.stringify would not. */
function jsonSpan(spanId: string, fields: string, attrs = '', service = POISON_SERVICE): string {
  return `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"${service}"}}]},
    "scopeSpans":[{"spans":[{"traceId":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","spanId":"${spanId}","kind":5,"name":"sync poison",
    "startTimeUnixNano":"${nowNs}",
    "attributes":[{"key":"retail.order.id","value":{"stringValue":"SO-POISON"}},
      {"key":"integration.connector","value":{"stringValue":"poison"}}${attrs}],
    ${fields}}]}]}]}`
  // (a later "name" in `fields` overrides the default: JSON keeps the last of a repeated key)
}

const post = (path: string, body: string | Uint8Array, type: string) =>
  fetch(`${sb.collectorUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': type },
    body: body as BodyInit,
  })

let bystanderSeq = 0
function bystander(): Promise<Response> {
  const n = bystanderSeq++
  const span = readableSpan({
    traceId: `bbbbbbbbbbbbbbbbbbbbbbbb${String(10_000_000 + n).slice(-8)}`,
    spanId: `cccccccc${String(10_000_000 + n).slice(-8)}`,
    name: 'sync order',
    startMs: Date.now(),
    durationMs: 3,
  })
  return post(
    '/v1/traces',
    ProtobufTraceSerializer.serializeRequest([span]) as Uint8Array,
    'application/x-protobuf',
  )
}

/** Sends `poison` among bystanders in flight at the same moment; every bystander must be written. */
async function amongBystanders(poison: () => Promise<Response>) {
  const before = bystanderSeq
  const [bad, ...good] = await Promise.all([poison(), ...Array.from({ length: 8 }, bystander)])
  expect(good.map((r) => r.status)).toEqual(Array(8).fill(200))
  const stored = await sb.rows<{ n: string }>(
    sql`SELECT count() AS n FROM ${table(TABLES.spans)} WHERE service_name = 'test-service' AND span_id >= ${`cccccccc${String(10_000_000 + before).slice(-8)}`}`,
  )
  expect(Number(stored[0]?.n)).toBeGreaterThanOrEqual(8)
  return bad as Response
}

async function refusal(res: Response) {
  const body = (await res.json()) as { error: { code: string; message: string } }
  return { status: res.status, ...body.error }
}

describe('a poison request among bystanders', () => {
  it('refuses flags outside uint32, naming the field', async () => {
    const r = await refusal(
      await amongBystanders(() =>
        post(
          '/v1/traces',
          jsonSpan('0000000000000001', '"flags":-1,"endTimeUnixNano":"1"'),
          'application/json',
        ),
      ),
    )
    expect(r.status).toBe(400)
    expect(r.message).toContain('spans[0].flags')
  })

  it('refuses an event time at 2^64 ns', async () => {
    const body = jsonSpan(
      '0000000000000002',
      `"endTimeUnixNano":"${nowNs + 1000n}","events":[{"name":"e","timeUnixNano":"18446744073709551616"}]`,
    )
    const r = await refusal(await amongBystanders(() => post('/v1/traces', body, 'application/json')))
    expect(r.status).toBe(400)
    expect(r.message).toContain('events[0].timeUnixNano')
  })

  it('refuses an end time that would overflow the trace index', async () => {
    const body = jsonSpan('0000000000000003', '"endTimeUnixNano":"18446744073709551615"')
    const r = await refusal(await amongBystanders(() => post('/v1/traces', body, 'application/json')))
    expect(r.status).toBe(400)
    expect(r.message).toContain('endTimeUnixNano')
  })

  it('refuses a log whose observed time is out of range', async () => {
    const body = `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"${POISON_SERVICE}"}}]},
      "scopeLogs":[{"logRecords":[{"timeUnixNano":"${nowNs}","observedTimeUnixNano":"99999999999999999999","body":{"stringValue":"x"}}]}]}]}`
    const r = await refusal(await amongBystanders(() => post('/v1/logs', body, 'application/json')))
    expect(r.status).toBe(400)
    expect(r.message).toContain('observedTimeUnixNano')
  })

  it('stores span event times of 0 and of a few nanoseconds exactly, rather than failing the batch', async () => {
    const body = jsonSpan(
      '0000000000000006',
      `"endTimeUnixNano":"${nowNs + 1000n}","events":[{"name":"zero","timeUnixNano":"0"},{"name":"five","timeUnixNano":"5"}]`,
      '',
      'event-times',
    )
    const res = await amongBystanders(() => post('/v1/traces', body, 'application/json'))
    expect(res.status).toBe(200)
    const [span] = await sb.rows<{ times: string[] }>(
      sql`SELECT arrayMap(e -> toString(toUnixTimestamp64Nano(e.1)), events) AS times FROM ${table(TABLES.spans)} WHERE span_id = '0000000000000006'`,
    )
    expect(span?.times).toEqual(['0', '5'])
  })

  it('repairs a lone surrogate in a span name and attribute to U+FFFD, and says so', async () => {
    const body = jsonSpan(
      '0000000000000004',
      `"name":"sync x\\ud800","endTimeUnixNano":"${nowNs + 1000n}"`,
      ',{"key":"note\\udc00","value":{"stringValue":"half \\udbff pair"}}',
    )
    const res = await amongBystanders(() => post('/v1/traces', body, 'application/json'))
    expect(res.status).toBe(200)
    const answer = (await res.json()) as { partialSuccess?: { errorMessage?: string } }
    expect(answer.partialSuccess?.errorMessage).toMatch(/U\+FFFD/)
    const [span] = await sb.rows<{ name: string; note: string }>(
      sql`SELECT name, attributes['note\uFFFD'] AS note FROM ${table(TABLES.spans)} WHERE span_id = '0000000000000004'`,
    )
    expect(span).toEqual({ name: 'sync x\uFFFD', note: 'half \uFFFD pair' })
  })

  it('repairs a lone surrogate in a CloudEvent subject', async () => {
    const body = `{"specversion":"1.0","id":"poison-1","source":"${POISON_SERVICE}","type":"retail.order.created","subject":"SO-\\ud800","time":"${new Date().toISOString()}"}`
    const r = await amongBystanders(() => post('/v1/events', body, 'application/cloudevents+json'))
    expect(r.status).toBe(200)
    const [event] = await sb.rows<{ subject: string }>(
      sql`SELECT subject FROM ${table(TABLES.events)} WHERE id = 'poison-1'`,
    )
    expect(event?.subject).toBe('SO-\uFFFD')
  })
})

describe('long values', () => {
  it('truncates attribute values past the limit, never inside a surrogate pair, and says so', async () => {
    // 16,383 characters, then an emoji (a surrogate pair) across the 16,384 limit, then more.
    const long = `${'a'.repeat(16_383)}\u{1F600}${'b'.repeat(4_000)}`
    const span = readableSpan({
      traceId: 'dddddddddddddddddddddddddddddddd',
      spanId: 'dddddddd00000001',
      name: 'long',
      startMs: Date.now(),
      durationMs: 1,
      attributes: { note: long },
    })
    const res = await post(
      '/v1/traces',
      ProtobufTraceSerializer.serializeRequest([span]) as Uint8Array,
      'application/x-protobuf',
    )
    expect(res.status).toBe(200)
    const [stored] = await sb.rows<{ n: string; last: string }>(
      sql`SELECT length(attributes['note']) AS n, substring(attributes['note'], -1) AS last FROM ${table(TABLES.spans)} WHERE span_id = 'dddddddd00000001'`,
    )
    expect(stored).toEqual({ n: '16383', last: 'a' })
    const metrics = await (await fetch(`${sb.collectorUrl}/metrics`)).text()
    expect(metrics).toMatch(/signalbox_collector_repaired_total\{signal="spans",kind="truncated"\} 1\b/)
  })
})

describe('deep or malformed values', () => {
  it('refuses attribute values nested deeper than the cap (JSON)', async () => {
    const depth = 3000
    const deep = `${'{"arrayValue":{"values":['.repeat(depth)}{"stringValue":"x"}${']}}'.repeat(depth)}`
    const body = jsonSpan(
      '0000000000000005',
      `"endTimeUnixNano":"${nowNs}"`,
      `,{"key":"deep","value":${deep}}`,
    )
    const r = await refusal(await post('/v1/traces', body, 'application/json'))
    expect(r.status).toBe(400)
    expect(r.code).toBe('too_deep')
  })

  it('refuses attribute values nested deeper than the cap (protobuf)', async () => {
    // AnyValue{array_value(5): ArrayValue{values(1): AnyValue{…}}} nested by hand.
    const varint = (n: number) => {
      const out: number[] = []
      while (n > 0x7f) {
        out.push((n & 0x7f) | 0x80)
        n >>>= 7
      }
      out.push(n)
      return Buffer.from(out)
    }
    const field = (tag: number, body: Buffer) =>
      Buffer.concat([Buffer.from([tag]), varint(body.length), body])
    let value = field(0x0a, Buffer.from('x'))
    for (let i = 0; i < 5000; i++) value = field(0x2a, field(0x0a, value))
    const kv = Buffer.concat([field(0x0a, Buffer.from('deep')), field(0x12, value)])
    const span = Buffer.concat([
      field(0x0a, Buffer.alloc(16, 1)),
      field(0x12, Buffer.alloc(8, 1)),
      field(0x2a, Buffer.from('deep')),
      field(0x4a, kv),
    ])
    const body = field(0x0a, field(0x12, field(0x12, span)))
    const r = await refusal(await post('/v1/traces', body, 'application/x-protobuf'))
    expect(r.status).toBe(400)
    expect(r.code).toBe('too_deep')
  })

  it('refuses a structured CloudEvent whose body is an array', async () => {
    const r = await refusal(
      await post(
        '/v1/events',
        '[{"specversion":"1.0","id":"arr-1","source":"s","type":"retail.order.created"}]',
        'application/cloudevents+json',
      ),
    )
    expect(r.status).toBe(400)
    expect(r.code).toBe('invalid_cloudevent')
  })

  it.each(['2.0', '9.9', '0.3'])('refuses specversion %s', async (specversion) => {
    const body = JSON.stringify({
      specversion,
      id: `v-${specversion}`,
      source: 's',
      type: 'retail.order.created',
    })
    const r = await refusal(await post('/v1/events', body, 'application/cloudevents+json'))
    expect(r.status).toBe(400)
    expect(r.message).toContain('specversion')
  })
})

describe('what refused requests leave', () => {
  it('no row of the poison sender in any table, view or rollup', async () => {
    const byService = [TABLES.spans, TABLES.logs, TABLES.flowMinutes]
    for (const t of byService) {
      const [r] = await sb.rows<{ n: string }>(
        sql`SELECT count() AS n FROM ${table(t)} WHERE service_name = ${POISON_SERVICE}`,
      )
      // Only the repaired span was acknowledged.
      expect({ t, n: Number(r?.n) }).toEqual({ t, n: t === TABLES.logs ? 0 : t === TABLES.spans ? 1 : 1 })
    }
    const [idx] = await sb.rows<{ n: string }>(
      sql`SELECT count() AS n FROM ${table(TABLES.entityIndex)} WHERE entity_type = 'order' AND entity_id = 'SO-POISON'`,
    )
    // The two acknowledged spans on this trace and order: the repaired one and the event times'.
    expect(Number(idx?.n)).toBe(2)
    const [trace] = await sb.rows<{ n: string }>(
      sql`SELECT sum(span_count) AS n FROM ${table(TABLES.traceIndex)} WHERE trace_id = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'`,
    )
    expect(Number(trace?.n)).toBe(2)
    // The span keys exactly-once reads: the repaired span's alone, of the poison sender's.
    const [keys] = await sb.rows<{ n: string }>(
      sql`SELECT count() AS n FROM ${table(TABLES.traceIndex)} ARRAY JOIN span_keys AS key
          WHERE endsWith(key, ${POISON_SERVICE})`,
    )
    expect(Number(keys?.n)).toBe(1)
    const [sli] = await sb.rows<{ n: string }>(
      sql`SELECT sum(total) AS n FROM ${table(TABLES.sliMinutes)} WHERE key = 'poison'`,
    )
    expect(Number(sli?.n)).toBe(2)
    const [sightings] = await sb.rows<{ n: string }>(
      sql`SELECT sum(n) AS n FROM ${table(TABLES.integrationSightings)} WHERE kind = 'service' AND name = ${POISON_SERVICE}`,
    )
    expect(Number(sightings?.n)).toBe(1)
    const [events] = await sb.rows<{ n: string }>(
      sql`SELECT count() AS n FROM ${table(TABLES.events)} WHERE source = ${POISON_SERVICE}`,
    )
    expect(Number(events?.n)).toBe(1)
  })

  it('the collector still writes after all of it', async () => {
    expect((await bystander()).status).toBe(200)
  })
})
