import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { openStore, type Store } from '../../store/client.ts'
import { type ChildSignalbox, startChildSignalbox } from '../child.ts'
import { orderTrace } from '../retail-traces.ts'

/** One OTLP protobuf request of realistic order traces, with its traces and their span counts. */
export interface Batch {
  readonly body: Uint8Array
  readonly traces: ReadonlyArray<readonly [traceId: string, spans: number]>
  readonly spans: number
}

export const encodeSpans = (spans: ReadableSpan[]) =>
  ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array

/** Orders `first` … `first + orders - 1` of a seed, started over the last two minutes. */
export function goodBatch(seed: number, first: number, orders: number): Batch {
  const spans: ReadableSpan[] = []
  const traces: Array<[string, number]> = []
  const now = Date.now()
  for (let n = first; n < first + orders; n++) {
    const trace = orderTrace(n, now - 120_000 + (n % 1000) * 100, seed)
    traces.push([trace[0]?.spanContext().traceId ?? '', trace.length])
    spans.push(...trace)
  }
  return { body: encodeSpans(spans), traces, spans: spans.length }
}

const created: string[] = []

/** A fresh data dir under the system temp dir; `removeDataDirs` deletes them all at the end. */
export function newDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'signalbox-faults-'))
  created.push(dir)
  return join(dir, 'data')
}

export function removeDataDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true })
}

/** The all-in-one on its own process; the collector's `listening` line needs log level info. */
export const startChild = (dataDir: string, env: Record<string, string> = {}): Promise<ChildSignalbox> =>
  startChildSignalbox({ SIGNALBOX_DATA_DIR: dataDir, SIGNALBOX_LOG_LEVEL: 'info', ...env })

/** The stopped child's store, opened directly (the API has no raw SQL), closed after `fn`. */
export async function withStore<T>(dataDir: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({
    dataDir,
    clickhouse: { database: 'signalbox' },
    query: { timeoutSeconds: 300 },
  })
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

/** Stored spans per trace id: rows, and distinct span ids. */
export async function spansByTrace(
  store: Store,
  traceIds: readonly string[],
): Promise<Map<string, { rows: number; unique: number }>> {
  const out = new Map<string, { rows: number; unique: number }>()
  for (let i = 0; i < traceIds.length; i += 5000) {
    const rows = await store.query<{ trace_id: string; rows: string; uniq: string }>({
      query:
        'SELECT trace_id, count() AS rows, uniqExact(span_id) AS uniq FROM spans ' +
        'WHERE trace_id IN {ids:Array(String)} GROUP BY trace_id',
      query_params: { ids: traceIds.slice(i, i + 5000) },
    })
    for (const r of rows) out.set(r.trace_id, { rows: Number(r.rows), unique: Number(r.uniq) })
  }
  return out
}

/** SIGTERM (queued rows are written first), SIGKILL if it has not exited after `timeoutMs`. */
export async function stopChild(child: ChildSignalbox, timeoutMs = 120_000): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return
  const timer = setTimeout(() => child.process.kill('SIGKILL'), timeoutMs)
  await child.stop()
  clearTimeout(timer)
}
