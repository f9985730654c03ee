import { randomBytes } from 'node:crypto'
import type { Store } from '../../store/client.ts'
import type { ChildSignalbox } from '../child.ts'
import { type Answer, exportLike, JSON_TYPE, PROTOBUF, post, StatusCounts, sleep } from './http.ts'
import { goodBatch } from './traffic.ts'

/*
 * Requests the engine would refuse, sent among good senders. Every poison request carries a tag
 * `poison-<run>-<seq>` as its service name, connector, order id, event source and id, so whatever it
 * left behind can be found afterwards in every table, rollups included.
 */

const LONE_SURROGATE = String.fromCharCode(0xd800) // JSON.stringify writes it as the escape \ud800
const U64_OVERFLOW = '18446744073709551616' // 2^64
const U64_MAX = '18446744073709551615'

const hex = (bytes: number) => randomBytes(bytes).toString('hex')
const kv = (key: string, value: string) => ({ key, value: { stringValue: value } })
const nowNs = () => BigInt(Date.now()) * 1_000_000n

/** Two spans under one resource: a good `sync` run (feeds the SLI rollup) and a call with `poison` fields. */
function traces(tag: string, traceId: string, poison: Record<string, unknown>): string {
  const start = nowNs() - 60_000_000_000n
  const span = (fields: Record<string, unknown>) => ({
    traceId,
    spanId: hex(8),
    startTimeUnixNano: String(start),
    endTimeUnixNano: String(start + 5_000_000n),
    status: { code: 1 },
    ...fields,
  })
  const resource = { attributes: [kv('service.name', tag), kv('integration.connector', tag)] }
  const good = span({ name: 'sync poison', kind: 5, attributes: [kv('retail.order.id', tag)] })
  const bad = span({
    name: 'POST /poison',
    kind: 3,
    attributes: [
      kv('retail.order.id', tag),
      kv('integration.system', tag),
      kv('integration.stage', 'captured'),
    ],
    ...poison,
  })
  return JSON.stringify({
    resourceSpans: [{ resource, scopeSpans: [{ scope: { name: 'faults' }, spans: [good, bad] }] }],
  })
}

function logs(tag: string, traceId: string): string {
  const record = (fields: Record<string, unknown>) => ({
    timeUnixNano: String(nowNs()),
    severityNumber: 9,
    body: { stringValue: 'poison' },
    traceId,
    attributes: [kv('retail.order.id', tag)],
    ...fields,
  })
  const logRecords = [record({}), record({ observedTimeUnixNano: U64_OVERFLOW })]
  const resource = { attributes: [kv('service.name', tag), kv('integration.connector', tag)] }
  return JSON.stringify({
    resourceLogs: [{ resource, scopeLogs: [{ scope: { name: 'faults' }, logRecords }] }],
  })
}

function cloudEvent(tag: string): string {
  return JSON.stringify({
    specversion: '1.0',
    id: tag,
    source: tag,
    type: 'retail.order.created',
    subject: `${tag}${LONE_SURROGATE}`,
    orderid: tag,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: { orderId: tag },
  })
}

const TRACES = { path: '/v1/traces', type: JSON_TYPE }
/**
 * `repaired`: the OTLP spec has receivers repair invalid text (U+FFFD) rather than refuse it, so a
 * lone surrogate is answered 200 with a partial-success message; everything else is answered 400.
 */
export const POISONS: ReadonlyArray<{
  kind: string
  path: string
  type: string
  repaired?: true
  body: (tag: string, traceId: string) => string
}> = [
  {
    kind: 'span name with a lone surrogate',
    ...TRACES,
    repaired: true,
    body: (t, id) => traces(t, id, { name: `x${LONE_SURROGATE}` }),
  },
  { kind: 'span flags -1', ...TRACES, body: (t, id) => traces(t, id, { flags: -1 }) },
  {
    kind: 'span event time 2^64',
    ...TRACES,
    body: (t, id) => traces(t, id, { events: [{ timeUnixNano: U64_OVERFLOW, name: 'poison' }] }),
  },
  { kind: 'span end time 2^64-1', ...TRACES, body: (t, id) => traces(t, id, { endTimeUnixNano: U64_MAX }) },
  { kind: 'log observed time 2^64', path: '/v1/logs', type: JSON_TYPE, body: (t, id) => logs(t, id) },
  {
    kind: 'CloudEvent subject with a lone surrogate',
    repaired: true,
    path: '/v1/events',
    type: 'application/cloudevents+json',
    body: (t) => cloudEvent(t),
  },
]

export interface PoisonRun {
  readonly run: string
  /** Good senders: answers by status, accepted, 429 with Retry-After, and every other answer. */
  readonly bystanders: { statuses: StatusCounts; ok: number; backpressure: number; refusals: number }
  /** Poison answers by kind, and the seq numbers and trace ids of those not accepted. */
  /** handled: answered as its kind should be (400, or 200 for a repair). */
  readonly poison: {
    sent: number
    answered400: number
    handled: number
    byKind: Record<string, StatusCounts>
  }
  readonly refused: { seqs: Set<number>; traceIds: string[] }
}

/** `senders` good protobuf senders for `seconds`, and one poison sender every 50 ms among them. */
export async function runPoison(
  child: ChildSignalbox,
  opts: { senders: number; seconds: number; orders: number },
): Promise<PoisonRun> {
  const run = hex(3)
  const until = performance.now() + opts.seconds * 1000
  const bystanders = { statuses: new StatusCounts(), ok: 0, backpressure: 0, refusals: 0 }
  const onAnswer = (a: Answer) => {
    bystanders.statuses.add(a)
    if (a.status >= 200 && a.status < 300) bystanders.ok++
    else if (a.status === 429 && a.retryAfterMs !== undefined) bystanders.backpressure++
    else bystanders.refusals++
  }
  const good = Array.from({ length: opts.senders }, async (_, k) => {
    for (let i = 0; i < 100_000 && performance.now() < until; i++) {
      const batch = goodBatch(11, k * 1_000_000 + i * opts.orders, opts.orders)
      await exportLike(`${child.collectorUrl}/v1/traces`, batch.body, PROTOBUF, { until, onAnswer })
    }
  })
  const poison = { sent: 0, answered400: 0, handled: 0, byKind: {} as Record<string, StatusCounts> }
  const refused = { seqs: new Set<number>(), traceIds: [] as string[] }
  const poisoner = (async () => {
    for (let seq = 0; seq < 5000 && performance.now() < until; seq++) {
      const p = POISONS[seq % POISONS.length] as (typeof POISONS)[number]
      const traceId = hex(16)
      const a = await post(`${child.collectorUrl}${p.path}`, p.body(`poison-${run}-${seq}`, traceId), p.type)
      poison.sent++
      if (a.status === 400) poison.answered400++
      if (a.status === (p.repaired ? 200 : 400)) poison.handled++
      poison.byKind[p.kind] ??= new StatusCounts()
      poison.byKind[p.kind]?.add(a)
      if (a.status < 200 || a.status >= 300) {
        refused.seqs.add(seq)
        refused.traceIds.push(traceId)
      }
      await sleep(50)
    }
  })()
  await Promise.all([...good, poisoner])
  return { run, bystanders, poison, refused }
}

/** Where each poison tag lands: table and the column holding it. */
const TAGGED: ReadonlyArray<readonly [table: string, column: string]> = [
  ['spans', 'service_name'],
  ['entity_index', 'entity_id'],
  ['flow_minutes', 'service_name'],
  ['sli_minutes', 'key'],
  ['logs', 'service_name'],
  ['business_events', 'source'],
  ['event_keys', 'source'],
  ['entity_progress', 'entity_id'],
  ['span_resources', 'service_name'],
  ['integration_sightings', 'name'],
]

/** Rows the refused poison requests left, per table (read from the stopped child's store). */
export async function rowsLeft(store: Store, p: PoisonRun): Promise<Record<string, number>> {
  const prefix = `poison-${p.run}-`
  const left: Record<string, number> = {}
  for (const [table, column] of TAGGED) {
    const rows = await store.query<{ seq: string; n: string }>({
      query: `SELECT extract(${column}, {re:String}) AS seq, count() AS n FROM ${table} WHERE startsWith(${column}, {prefix:String}) GROUP BY seq`,
      query_params: { re: `^${prefix}(\\d+)`, prefix },
    })
    left[table] = rows.filter((r) => p.refused.seqs.has(Number(r.seq))).reduce((s, r) => s + Number(r.n), 0)
  }
  // Tables keyed by trace: the refused requests' trace ids.
  for (const table of ['trace_index', 'failed_traces']) {
    const [row] = await store.query<{ n: string }>({
      query: `SELECT count() AS n FROM ${table} WHERE trace_id IN {ids:Array(String)}`,
      query_params: { ids: p.refused.traceIds },
    })
    left[table] = Number(row?.n ?? 0)
  }
  return left
}
