import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { orderTrace } from '../../bench/retail-traces.ts'
import { Bytes } from '../../collector/native/bytes.ts'
import { filterBlock } from '../../collector/native/filter.ts'
import { spanBlock } from '../../collector/native/spans.ts'
import { decodeTraceRequest } from '../../collector/otlp/decode-proto.ts'
import type { Resource, SpanRecord } from '../../collector/otlp/model.ts'
import { SPAN_COLUMNS } from '../../collector/rows.ts'
import { ResourceIds } from '../../collector/spans/resources.ts'
import { repairLines } from '../../collector/well-formed.ts'
import { loadEntityKeyAliases } from '../../core/entity-keys.ts'
import { openStore, type Store } from '../../store/client.ts'
import { migrate } from '../../store/migrate.ts'
import { MIGRATIONS } from '../../store/migrations/index.ts'
import { TABLES, type TableName } from '../../store/tables.ts'
import { spanRows } from '../support/span-rows.ts'

/*
 * Differential test of the Native encoder: the same spans written once as JSONCompactEachRow (the
 * path the collector has always used, the reference) and once as a Native block, into two databases
 * with the same schema; every column of every row, and what the materialized views derived, must
 * read back the same.
 */

const retention = { spans: 30, logs: 30, events: 400 }
const aliases = loadEntityKeyAliases(join(import.meta.dirname, '../../config'))
const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-native-'))
const REFERENCE = 'signalbox'
const NATIVE = 'native'
let store: Store

const nowMs = Date.now()
const ns = (ms: number) => BigInt(Math.round(ms)) * 1_000_000n

/** Orders through the retail connectors, encoded and decoded as the collector receives them. */
function realisticSpans(orders: number): SpanRecord[] {
  const out: SpanRecord[] = []
  for (let first = 0; first < orders; first += 64) {
    const batch = []
    for (let n = first; n < Math.min(first + 64, orders); n++)
      batch.push(...orderTrace(n, nowMs - 3_600_000 + n * 1000))
    out.push(
      ...decodeTraceRequest(Buffer.from(ProtobufTraceSerializer.serializeRequest(batch) as Uint8Array)),
    )
  }
  return out
}

const resource = (attributes: Record<string, string>): Resource => ({
  attributes,
  serviceName: attributes['service.name'] ?? '',
})
const bare = resource({})
const connector = resource({
  'service.name': 'connector-returns',
  'integration.connector': 'returns',
  'integration.flow': 'returns',
  'retail.location.id': 'DC-1',
})
const scope = { name: 'edge', version: '0.0.1' }

let serial = 0
function span(overrides: Partial<SpanRecord>): SpanRecord {
  serial++
  const startNs = ns(nowMs - 60_000) + BigInt(serial)
  return {
    resource: bare,
    scope,
    traceId: serial.toString(16).padStart(32, 'e'),
    spanId: serial.toString(16).padStart(16, 'e'),
    parentSpanId: '',
    traceState: '',
    flags: 0,
    name: `edge ${serial}`,
    kind: 0,
    startNs,
    endNs: startNs + 1_000n,
    attributes: {},
    events: [],
    links: [],
    statusCode: 0,
    statusMessage: '',
    ...overrides,
  }
}

/** Values around the encoder's boundaries: a one-byte length ends at 127 bytes (42 UTF-16 units handled by hand). */
const lengths = [0, 41, 42, 43, 127, 128, 16_383, 16_384, 100_000]
const unicode = {
  accents: 'Crème brûlée café',
  cjk: '注文番号 주문',
  emoji: '🛒📦 order shipped 🚚',
  loneHigh: 'before \ud800 after',
  loneLow: '\udc00',
  reversedPair: '\ude00\ud83d',
  controls: 'tab\tnewline\nquote" backslash\\ nul\u0000 del\u007f',
  threeByteAt42: '€'.repeat(42),
  threeByteAt43: '€'.repeat(43),
}

function edgeSpans(): SpanRecord[] {
  const t = ns(nowMs - 30_000)
  const out: SpanRecord[] = []
  for (let kind = 0; kind <= 5; kind++)
    for (let statusCode = 0; statusCode <= 2; statusCode++)
      out.push(span({ kind, statusCode, statusMessage: statusCode === 2 ? 'failed' : '' }))
  out.push(
    span({ endNs: 0n }), // unset end: duration 0
    span({ startNs: t, endNs: t - 5n }), // end before start: duration 0
    span({ flags: 0xffff_ffff, traceState: 'vendor=a,other=b', parentSpanId: 'f'.repeat(16) }),
    span({ flags: 1, resource: connector, attributes: { 'retail.return.id': 'RMA-1' } }),
    span({
      name: unicode.emoji,
      statusMessage: unicode.loneHigh,
      resource: resource({ 'service.name': unicode.cjk, [unicode.loneLow]: unicode.reversedPair }),
      scope: { name: unicode.accents, version: unicode.emoji },
      attributes: { ...unicode, [unicode.emoji]: unicode.loneHigh, [unicode.controls]: '' },
    }),
    ...lengths.map((n) =>
      span({
        name: 'n'.repeat(n),
        statusMessage: 'é'.repeat(n),
        attributes: { ['k'.repeat(n)]: 'v'.repeat(n), ['é'.repeat(n)]: '🛒'.repeat(n) },
      }),
    ),
    span({
      // Several keys from one attribute (a JSON array), from span and resource, and a location.
      resource: connector,
      attributes: {
        'retail.order.id': 'SO-9',
        'retail.sku': '["SKU-1","SKU-2",3]',
        'retail.shipment.id': ` ${unicode.emoji} `,
        'integration.system': 'wms',
        'integration.stage': 'released',
        'integration.connector': 'override',
      },
    }),
    span({
      events: [
        {
          timeNs: t,
          name: 'exception',
          attributes: { 'exception.type': 'HttpError', 'exception.message': '503' },
        },
        { timeNs: t + 1n, name: '', attributes: {} },
        { timeNs: t + 2n, name: unicode.emoji, attributes: { [unicode.loneHigh]: unicode.cjk } },
      ],
      links: [
        { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceState: 'k=v', attributes: { why: 'retry' } },
        { traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), traceState: '', attributes: {} },
      ],
    }),
    // Empty nested values between non-empty ones: offsets must carry over.
    span({ events: [{ timeNs: t, name: 'only', attributes: {} }] }),
    span({
      links: [{ traceId: 'e'.repeat(32), spanId: 'f'.repeat(16), traceState: '', attributes: { a: '1' } }],
    }),
    span({ attributes: { 'retail.order.id': '' } }),
  )
  return out
}

const read = (q: string) => store.query<Record<string, unknown>>({ query: q, query_params: {} })

/** Every table the spans feed, each read in one fixed order; aggregate states are finalized to compare. */
const SNAPSHOTS: Record<string, (db: string) => string> = {
  spans: (db) => `SELECT * FROM ${db}.${TABLES.spans} ORDER BY trace_id, span_id`,
  traceIndex: (db) => `SELECT * FROM ${db}.${TABLES.traceIndex} ORDER BY ALL`,
  entityIndex: (db) => `SELECT * FROM ${db}.${TABLES.entityIndex} ORDER BY ALL`,
  flowMinutes: (db) =>
    `SELECT * EXCEPT duration_ns, finalizeAggregation(duration_ns) AS quantiles ` +
    `FROM ${db}.${TABLES.flowMinutes} ORDER BY ALL`,
  sliMinutes: (db) => `SELECT * FROM ${db}.${TABLES.sliMinutes} ORDER BY ALL`,
}

beforeAll(async () => {
  store = await openStore({ dataDir, clickhouse: { database: REFERENCE } })
  await migrate(store, retention)
  await store.command(`CREATE DATABASE ${NATIVE}`)
  for (const m of MIGRATIONS)
    for (const s of m.statements({ database: NATIVE }, retention)) await store.command(s)

  const spans = [...realisticSpans(400), ...edgeSpans()]
  const lines = spanRows(spans, aliases)
  repairLines(lines)
  await store.insertRows(TABLES.spans, SPAN_COLUMNS, [`${lines.join('\n')}\n`])
  // The store writes by table name; a qualified name points it at the second database. Two blocks
  // in one insert, as the collector sends a batch of requests: one small enough for the buffer the
  // encoder keeps between requests, one (thousands of spans) that gets its own.
  const small = 300
  await store.insertNative(`${NATIVE}.${TABLES.spans}` as TableName, SPAN_COLUMNS, [
    spanBlock(spans.slice(0, small), aliases, new ResourceIds()),
    spanBlock(spans.slice(small), aliases, new ResourceIds()),
  ])
})

afterAll(async () => {
  await store?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('Native span blocks', () => {
  it.each(Object.keys(SNAPSHOTS))('read back the same %s as JSONCompactEachRow rows', async (name) => {
    const snapshot = SNAPSHOTS[name] as (db: string) => string
    const reference = await read(snapshot(REFERENCE))
    expect(reference.length).toBeGreaterThan(0)
    expect(await read(snapshot(NATIVE))).toEqual(reference)
  })

  it('are each a copy of their own: encoding the next request changes none already made', () => {
    const spans = realisticSpans(200)
    const large = spanBlock(spans, aliases, new ResourceIds()) // over a thousand spans: a buffer of its own
    const small = spanBlock(spans.slice(0, 50), aliases, new ResourceIds()) // the encoder's kept buffer
    const [largeCopy, smallCopy] = [Buffer.from(large), Buffer.from(small)]
    spanBlock(spans.slice(50, 120), aliases, new ResourceIds())
    spanBlock(spans, aliases, new ResourceIds())
    expect(spans.length).toBeGreaterThan(1000)
    expect(large.equals(largeCopy)).toBe(true)
    expect(small.equals(smallCopy)).toBe(true)
    expect(spanBlock(spans.slice(0, 50), aliases, new ResourceIds()).equals(small)).toBe(true)
  })

  it('repair lone surrogates to U+FFFD, as the rows do', async () => {
    const [row] = await read(
      `SELECT status_message FROM ${NATIVE}.${TABLES.spans} WHERE name = '${unicode.emoji}' AND events = []`,
    )
    expect(row?.status_message).toBe('before \ufffd after')
  })

  it.each([
    ['every other row', (i: number) => i % 2 === 0],
    ['all but the first and last', (i: number, n: number) => i > 0 && i < n - 1],
    ['none', () => false],
    ['all', () => true],
  ])('keep %s when filtered, byte for byte as if encoded without the others', (_, keep) => {
    // Edge spans: nested events and links, empty nested values between full ones, long and odd strings.
    const spans = [...edgeSpans(), ...realisticSpans(3)]
    const kept = spans.filter((_, i) => keep(i, spans.length))
    const filtered = filterBlock(spanBlock(spans, aliases, new ResourceIds()), (i) => keep(i, spans.length))
    const expected = spanBlock(kept, aliases, new ResourceIds())
    // Buffer.equals: a deep comparison of megabytes byte by byte takes vitest seconds.
    expect(filtered.length).toBe(expected.length)
    expect(filtered.equals(expected)).toBe(true)
  })
})

describe('64-bit values in a block', () => {
  it('wraps values past the column type rather than throwing, as the engine would store them', () => {
    const out = new Bytes(8)
    out.int64(2n ** 63n) // a time past 2262: wraps to the lowest Int64
    out.bigUint64(-1n)
    out.bigUint64(2n ** 64n + 5n)
    out.int64(-5n)
    const b = out.view()
    expect(b.readBigInt64LE(0)).toBe(-(2n ** 63n))
    expect(b.readBigUInt64LE(8)).toBe(2n ** 64n - 1n)
    expect(b.readBigUInt64LE(16)).toBe(5n)
    expect(b.readBigInt64LE(24)).toBe(-5n)
  })
})
