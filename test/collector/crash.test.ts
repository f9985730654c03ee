import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { afterAll, expect, it } from 'vitest'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import { readableSpan } from '../support/readable-span.ts'
import { serverMode, startSignalbox } from '../support/signalbox.ts'

const root = join(import.meta.dirname, '../..')
const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-crash-'))
let child: ChildProcess | undefined
afterAll(() => {
  child?.kill('SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
})

/** Starts `signalbox start` as its own process and resolves with the collector's HTTP address. */
function startChild(): Promise<string> {
  child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'start', '--no-demo'], {
    cwd: root,
    env: {
      ...process.env,
      ...serverMode(dataDir),
      SIGNALBOX_DATA_DIR: dataDir,
      SIGNALBOX_HTTP_PORT: '0',
      SIGNALBOX_OTLP_HTTP_PORT: '0',
      SIGNALBOX_OTLP_GRPC_PORT: '0',
      SIGNALBOX_BATCH_MAX_WAIT_MS: '20',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    child?.once('exit', (code) => reject(new Error(`signalbox exited early with ${code}`)))
    createInterface({ input: child?.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; http?: string }
      if (entry.msg === 'collector listening' && entry.http) resolve(`http://${entry.http}`)
    })
  })
}

const SPANS_PER_REQUEST = 100
const traceIdOf = (n: number) => `f${n.toString(16).padStart(31, '0')}`
function request(n: number): Uint8Array {
  const trace = traceIdOf(n)
  const spans = Array.from({ length: SPANS_PER_REQUEST }, (_, i) =>
    readableSpan({
      traceId: trace,
      spanId: `${n.toString(16).padStart(8, '0')}${i.toString(16).padStart(8, '0')}`,
      name: 'sync',
      startMs: Date.now(),
      durationMs: 2,
    }),
  )
  return ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array
}

it('loses no acknowledged span when the process is killed with SIGKILL mid-ingest', async () => {
  const url = await startChild()
  const acknowledged: number[] = []
  let next = 0
  let killed = false
  const sender = async () => {
    while (!killed) {
      const n = next++
      try {
        const res = await fetch(`${url}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf' },
          body: request(n) as BodyInit,
        })
        if (res.status === 200) acknowledged.push(n)
      } catch {
        // the connection died with the process: not acknowledged
      }
    }
  }
  const senders = Array.from({ length: 6 }, sender)
  await expect.poll(() => acknowledged.length, { timeout: 30_000, interval: 20 }).toBeGreaterThanOrEqual(50)
  child?.kill('SIGKILL')
  killed = true
  await Promise.all(senders)

  const sb = await startSignalbox({ SIGNALBOX_DATA_DIR: dataDir })
  try {
    const rows = await sb.rows<{ trace_id: string; n: string }>(
      sql`SELECT trace_id, count() AS n FROM ${table(TABLES.spans)} GROUP BY trace_id`,
    )
    const stored = new Map(rows.map((r) => [r.trace_id, Number(r.n)]))
    const missing = acknowledged.filter((n) => stored.get(traceIdOf(n)) !== SPANS_PER_REQUEST)
    expect(acknowledged.length).toBeGreaterThanOrEqual(50)
    // Requests were still in flight when the process died: this was mid-ingest.
    expect(next).toBeGreaterThan(acknowledged.length)
    expect(missing).toEqual([])
  } finally {
    await sb.close()
  }
})
