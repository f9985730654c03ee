import type { FlowDefinition } from '../core/flows.ts'
import type { FailureRow, LatencyRow, ProgressRow, ThroughputRow } from '../store/queries/flow-metrics.ts'
import type { ResolvedRange } from './params.ts'

export interface FlowMetricsRows {
  readonly throughput: readonly ThroughputRow[]
  readonly latencies: readonly LatencyRow[]
  readonly progress: ProgressRow | undefined
  readonly failures: readonly FailureRow[]
}

const ratio = (part: number, whole: number) => (whole === 0 ? null : part / whole)
const iso = (bucketSeconds: string) => new Date(Number(bucketSeconds) * 1000).toISOString()

/** Sums failure rows by a key, keeping the first-seen order. */
function sumBy<K extends string>(rows: readonly FailureRow[], key: (r: FailureRow) => K) {
  const sums = new Map<K, { row: FailureRow; spans: number; errors: number }>()
  for (const r of rows) {
    const k = key(r)
    const s = sums.get(k) ?? { row: r, spans: 0, errors: 0 }
    s.spans += Number(r.spans)
    s.errors += Number(r.errors)
    sums.set(k, s)
  }
  return [...sums.values()]
}

/** The `GET /flows/:flow/metrics` body from the store's rows. */
export function flowMetricsView(
  flow: FlowDefinition,
  range: ResolvedRange,
  rows: FlowMetricsRows,
  now: Date,
) {
  const stageName = (index: string) => flow.stages[Number(index) - 1]?.name ?? ''
  const latency = (l: LatencyRow) => ({
    stage: stageName(l.stage_index),
    p50Ms: l.p50,
    p95Ms: l.p95,
    p99Ms: l.p99,
    entities: Number(l.entities),
  })
  const p = rows.progress
  const started = Number(p?.started ?? 0)
  const completed = Number(p?.completed ?? 0)
  return {
    flow: flow.name,
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    stepSeconds: range.stepSeconds,
    throughput: rows.throughput.map((t) => ({
      at: iso(t.bucket),
      channel: t.channel,
      entities: Number(t.entities),
    })),
    latency: {
      // Bucket 0 is the whole range (the grouping set without a bucket).
      overall: rows.latencies.filter((l) => l.bucket === '0').map(latency),
      series: rows.latencies
        .filter((l) => l.bucket !== '0')
        .map((l) => ({ at: iso(l.bucket), ...latency(l) })),
    },
    funnel: {
      started,
      stages: flow.stages.map((s, i) => ({ stage: s.name, reached: Number(p?.reached[i] ?? 0) })),
      completed,
      terminated: Number(p?.terminated ?? 0),
      completionRatio: ratio(completed, started),
    },
    failures: sumBy(rows.failures, (r) => `${r.connector}\u0000${r.system}`)
      .sort((a, b) => b.errors - a.errors || b.spans - a.spans)
      .map(({ row, spans, errors }) => ({
        connector: row.connector,
        system: row.system,
        spans,
        errors,
        errorRatio: ratio(errors, spans),
      })),
    failureSeries: sumBy(rows.failures, (r) => `${r.bucket}\u0000${r.connector}`).map(
      ({ row, spans, errors }) => ({
        at: iso(row.bucket),
        connector: row.connector,
        spans,
        errors,
      }),
    ),
    backlog: {
      asOf: now.toISOString(),
      stages: flow.stages.map((s, i) => ({ waitingAfter: s.name, entities: Number(p?.waiting[i] ?? 0) })),
    },
  }
}
