import type { ChildSignalbox } from '../child.ts'
import { exportLike, PROTOBUF, StatusCounts } from './http.ts'
import { type Batch, goodBatch, spansByTrace, startChild, stopChild, withStore } from './traffic.ts'

export interface KillRun {
  /** Requests acknowledged with 200 before the kill, and retried ones acknowledged after the restart. */
  readonly acknowledged: number
  readonly retriedAcknowledged: number
  /** Requests in flight at the kill (retried once the child is back). */
  readonly inFlight: number
  /** Spans of acknowledged requests not found after the restart. */
  readonly acknowledgedLostSpans: number
  /** Span rows beyond one per span, across every trace sent (retries of requests written but not answered). */
  readonly duplicateSpans: number
  readonly restartMs: number
  readonly statuses: StatusCounts
}

/**
 * `senders` protobuf senders; `kill -9` after `afterSeconds`; restart on the same data dir; the
 * requests cut off are retried like an exporter would; then every acknowledged span is looked for.
 */
export async function runKill(
  dataDir: string,
  opts: { senders: number; afterSeconds: number; orders: number },
): Promise<KillRun> {
  const statuses = new StatusCounts()
  const acknowledged: Batch[] = []
  const cutOff: Batch[] = []
  let killed = false
  const first: ChildSignalbox = await startChild(dataDir)
  const until = performance.now() + opts.afterSeconds * 1000 + 60_000
  const senders = Array.from({ length: opts.senders }, async (_, k) => {
    for (let i = 0; i < 100_000 && !killed; i++) {
      const batch = goodBatch(31, k * 1_000_000 + i * opts.orders, opts.orders)
      const a = await exportLike(`${first.collectorUrl}/v1/traces`, batch.body, PROTOBUF, {
        until,
        onAnswer: (x) => statuses.add(x),
      })
      if (a.status === 200) acknowledged.push(batch)
      else if (killed || a.status === 0) cutOff.push(batch)
    }
  })
  const exited = new Promise((resolve) => first.process.once('exit', resolve))
  await new Promise((resolve) => setTimeout(resolve, opts.afterSeconds * 1000))
  killed = true
  first.process.kill('SIGKILL')
  await exited
  await Promise.all(senders)

  const restartStarted = performance.now()
  const second = await startChild(dataDir)
  const restartMs = performance.now() - restartStarted
  const retried: Batch[] = []
  try {
    const retryUntil = performance.now() + 120_000
    for (const batch of cutOff) {
      const a = await exportLike(`${second.collectorUrl}/v1/traces`, batch.body, PROTOBUF, {
        until: retryUntil,
      })
      if (a.status === 200) retried.push(batch)
    }
  } finally {
    await stopChild(second)
  }

  const ackedTraces = [...acknowledged, ...retried].flatMap((b) => b.traces)
  const allTraces = [...acknowledged, ...cutOff].flatMap((b) => b.traces)
  const stored = await withStore(dataDir, (store) =>
    spansByTrace(
      store,
      allTraces.map(([id]) => id),
    ),
  )
  let lost = 0
  for (const [id, spans] of ackedTraces) lost += Math.max(0, spans - (stored.get(id)?.unique ?? 0))
  let duplicates = 0
  for (const c of stored.values()) duplicates += c.rows - c.unique
  return {
    acknowledged: acknowledged.length,
    retriedAcknowledged: retried.length,
    inFlight: cutOff.length,
    acknowledgedLostSpans: lost,
    duplicateSpans: duplicates,
    restartMs,
    statuses,
  }
}
