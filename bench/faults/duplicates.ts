import type { Store } from '../../store/client.ts'
import type { ChildSignalbox } from '../child.ts'
import { orderTrace } from '../retail-traces.ts'
import { exportLike, get, PROTOBUF } from './http.ts'
import { encodeSpans, goodBatch, spansByTrace } from './traffic.ts'

const SEED = 23
/** Order numbers no other scenario's senders use. */
const BASE = 500_000_000

export interface DuplicateRun {
  readonly traceIds: string[]
  readonly orderIds: string[]
  /** Requests not acknowledged with 200 (then the test says less). */
  readonly notAcknowledged: number
  /** Extra span copies seen through GET /api/traces/:id, and extra span entries in order timelines. */
  readonly traceApi: number
  readonly lifecycle: number
  /** Traces or orders the API did not find. */
  readonly missing: number
}

/**
 * One batch sent twice (same bytes, as an exporter retrying a lost answer would), and one span sent
 * in two different batches; then read back through the API.
 */
export async function runDuplicates(child: ChildSignalbox): Promise<DuplicateRun> {
  const send = (body: Uint8Array) =>
    exportLike(`${child.collectorUrl}/v1/traces`, body, PROTOBUF, { until: performance.now() + 60_000 })
  const twice = goodBatch(SEED, BASE, 4)
  const start = Date.now() - 60_000
  const x = orderTrace(BASE + 100, start, SEED)
  const y = orderTrace(BASE + 101, start, SEED)
  // The payment call: the only span of its stage, so a second copy shows as a second timeline entry.
  const shared =
    x.find((s) => s.attributes['integration.system'] === 'payment') ?? (x[1] as (typeof x)[number])
  const answers = [
    await send(twice.body),
    await send(twice.body),
    await send(encodeSpans(x)),
    await send(encodeSpans([shared, ...y])),
  ]
  const traceIds = [...twice.traces.map(([id]) => id), x[0]?.spanContext().traceId ?? '']
  const orderIds = [0, 1, 2, 3, 100].map((n) => `SO-${1_000_000 + BASE + n}`)

  let traceApi = 0
  let lifecycle = 0
  let missing = 0
  for (const id of traceIds) {
    const a = await get(`${child.apiUrl}/api/traces/${id}`)
    if (a.status !== 200) {
      missing++
      continue
    }
    const spans = (JSON.parse(a.body) as { spans: Array<{ spanId: string }> }).spans
    traceApi += spans.length - new Set(spans.map((s) => s.spanId)).size
  }
  for (const id of orderIds) {
    const a = await get(`${child.apiUrl}/api/orders/${id}/lifecycle`)
    if (a.status !== 200) {
      missing++
      continue
    }
    type Entry = { kind: string; at: string; name: string; system: string; traceId: string | null }
    const spans = (JSON.parse(a.body) as { timeline: Entry[] }).timeline.filter((e) => e.kind === 'span')
    lifecycle += spans.length - new Set(spans.map((e) => `${e.at}|${e.name}|${e.system}|${e.traceId}`)).size
  }
  return {
    traceIds,
    orderIds,
    notAcknowledged: answers.filter((a) => a.status !== 200).length,
    traceApi,
    lifecycle,
    missing,
  }
}

/** Extra span rows stored for the scenario's traces (rows beyond distinct span ids). */
export async function storedDuplicates(store: Store, d: DuplicateRun): Promise<number> {
  const counts = await spansByTrace(store, d.traceIds)
  return [...counts.values()].reduce((s, c) => s + c.rows - c.unique, 0)
}
