import type { ChildSignalbox } from '../child.ts'
import { type Answer, exportLike, get, PROTOBUF, percentile, post, StatusCounts, sleep } from './http.ts'
import { goodBatch } from './traffic.ts'

/**
 * Counter series in the collector's /metrics that count 429s: labels naming 429, queue_full or
 * overloaded. Tolerant of whatever the collector calls them; series counting requests are preferred
 * over ones counting items when both exist. `undefined` when /metrics did not answer.
 */
export async function refusalCounters(collectorUrl: string): Promise<Map<string, number> | undefined> {
  const a = await get(`${collectorUrl}/metrics`)
  if (a.status !== 200) return undefined
  const counters = new Set<string>()
  const found = new Map<string, number>()
  for (const line of a.body.split('\n')) {
    const type = /^# TYPE (\S+) counter/.exec(line)
    if (type) counters.add(type[1] as string)
    const m = /^([A-Za-z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line)
    if (!m || line.startsWith('#')) continue
    const [, name = '', labels = ''] = m
    const counter = counters.has(name) || counters.has(name.replace(/_total$/, '')) || name.endsWith('_total')
    if (counter && /429|"queue_full"|"overloaded"/.test(labels)) found.set(`${name}${labels}`, Number(m[3]))
  }
  const requests = [...found].filter(([series]) => /request/i.test(series))
  return requests.length > 0 ? new Map(requests) : found
}

export interface OverloadRun {
  readonly seconds: number
  /** Every answer to the senders and to the recovery batches. */
  readonly statuses: StatusCounts
  readonly acceptedSpans: number
  readonly peakRssMB: number
  readonly ackP50Ms: number
  readonly ackP99Ms: number
  readonly sent429: number
  /** The increase over the run of the series summed (null when /metrics did not answer). */
  readonly counted429: number | null
  readonly series: string[]
  /** From the end of the overload to the first small batch acknowledged with 200 (null: none within 2 min). */
  readonly recoveryMs: number | null
  readonly smallAckP50Ms: number
}

/**
 * `senders` senders of `spans`-span protobuf batches for `seconds`, honouring 429/503 Retry-After
 * like an exporter, with the child's RSS sampled every 100 ms. Then recovery: when the overload
 * stops (no new requests; those in flight finish), a small batch every 250 ms until one is
 * acknowledged, and 10 more one after another.
 */
export async function runOverload(
  child: ChildSignalbox,
  opts: { senders: number; spans: number; seconds: number },
): Promise<OverloadRun> {
  const orders = Math.max(1, Math.round(opts.spans / 8))
  const distinct = Array.from({ length: Math.min(opts.senders, 8) }, (_, i) =>
    goodBatch(41, i * orders, orders),
  )
  process.stderr.write(
    `  overload: ${distinct.length} distinct batches of ${distinct[0]?.spans} spans ready\n`,
  )
  const before = await refusalCounters(child.collectorUrl)
  let peakRssMB = child.rssMB()
  const rss = setInterval(() => {
    try {
      peakRssMB = Math.max(peakRssMB, child.rssMB())
    } catch {
      // the child has exited; the run reports what it saw
    }
  }, 100)
  // Where the memory is: the JS heap and the buffers outside it, from the child's own /metrics.
  const memory = { heapMB: 0, externalMB: 0 }
  const memoryTimer = setInterval(async () => {
    const a = await get(`${child.collectorUrl}/metrics`, 5_000).catch(() => undefined)
    const value = (name: string) =>
      Number(
        a?.body
          .split('\n')
          .find((l) => l.startsWith(`${name} `))
          ?.split(' ')[1] ?? 0,
      ) /
      1024 /
      1024
    memory.heapMB = Math.max(memory.heapMB, value('signalbox_nodejs_heap_size_total_bytes'))
    memory.externalMB = Math.max(memory.externalMB, value('signalbox_nodejs_external_memory_bytes'))
  }, 1000)
  const statuses = new StatusCounts()
  const latencies: number[] = []
  let acceptedSpans = 0
  const started = performance.now()
  const until = started + opts.seconds * 1000
  const senders = Array.from({ length: opts.senders }, async (_, k) => {
    for (let i = 0; i < 100_000 && performance.now() < until; i++) {
      const batch = distinct[(k + i) % distinct.length] as (typeof distinct)[number]
      const onAnswer = (a: Answer) => {
        statuses.add(a)
        if (a.status === 200) {
          latencies.push(a.ms)
          acceptedSpans += batch.spans
        }
      }
      await exportLike(`${child.collectorUrl}/v1/traces`, batch.body, PROTOBUF, {
        until,
        timeoutMs: 120_000,
        onAnswer,
      })
    }
  })

  // Recovery, measured from the moment the overload stops.
  await sleep(Math.max(0, until - performance.now()))
  const small = goodBatch(43, 0, 1)
  let recoveryMs: number | null = null
  while (recoveryMs === null && performance.now() - until < 120_000) {
    const a = await post(`${child.collectorUrl}/v1/traces`, small.body, PROTOBUF, 120_000)
    statuses.add(a)
    if (a.status === 200) recoveryMs = performance.now() - until
    else await sleep(250)
  }
  const smallAcks: number[] = []
  for (let i = 0; i < 10 && recoveryMs !== null; i++) {
    const a = await post(`${child.collectorUrl}/v1/traces`, goodBatch(43, i + 1, 1).body, PROTOBUF, 60_000)
    statuses.add(a)
    if (a.status === 200) smallAcks.push(a.ms)
  }
  await Promise.all(senders)
  clearInterval(rss)
  clearInterval(memoryTimer)
  process.stderr.write(
    `  overload: peak JS heap ${Math.round(memory.heapMB)} MB, external buffers ${Math.round(memory.externalMB)} MB (the rest of RSS is the engine's)\n`,
  )

  const after = await refusalCounters(child.collectorUrl)
  const series = [...(after?.keys() ?? [])]
  const counted429 = after
    ? series.reduce((s, k) => s + (after.get(k) ?? 0) - (before?.get(k) ?? 0), 0)
    : null
  return {
    seconds: (performance.now() - started) / 1000,
    statuses,
    acceptedSpans,
    peakRssMB,
    ackP50Ms: percentile(latencies, 50),
    ackP99Ms: percentile(latencies, 99),
    sent429: statuses.of(429),
    counted429,
    series,
    recoveryMs,
    smallAckP50Ms: percentile(smallAcks, 50),
  }
}
