/**
 * OTLP protobuf ingest into the embedded store: spans/s acknowledged and queryable, beside the
 * engine's own insert rate for the same rows into the same tables (read from a local file in the
 * format the collector sends), measured in the same run. Last line: one JSON object.
 *
 *   npm run bench:ingest                 (BENCH_ORDERS=60000 ≈ 480k spans, BENCH_CONCURRENCY=8)
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { decodeTraceRequest } from '../collector/otlp/decode-proto.ts'
import { SPAN_COLUMNS, spanRows } from '../collector/rows.ts'
import { loadEntityKeyAliases } from '../core/entity-keys.ts'
import { openStore } from '../store/client.ts'
import { MIGRATIONS } from '../store/migrations/index.ts'
import { startChildSignalbox } from './child.ts'
import { orderTrace } from './retail-traces.ts'

const ORDERS = Number(process.env.BENCH_ORDERS ?? 60_000)
const ORDERS_PER_REQUEST = Number(process.env.BENCH_ORDERS_PER_REQUEST ?? 64) // 64 ≈ 512 spans: the OTel SDK's default export batch
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8)
const retention = { spans: 30, logs: 30, events: 400 }

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
const log = (msg: string) => process.stderr.write(`${msg}\n`)

const work = mkdtempSync(join(tmpdir(), 'signalbox-bench-'))
const dataDir = join(work, 'data')
const rowsFile = join(work, 'spans.jsonl')

// 1. Requests, encoded by the official OTLP serializer, over the last hour.
const now = Date.now()
const requests: Buffer[] = []
const lastTraceIds: string[] = []
let totalSpans = 0
for (let first = 0; first < ORDERS; first += ORDERS_PER_REQUEST) {
  const spans = []
  for (let n = first; n < Math.min(first + ORDERS_PER_REQUEST, ORDERS); n++) {
    spans.push(...orderTrace(n, now - 3_600_000 + (n / ORDERS) * 3_540_000))
  }
  totalSpans += spans.length
  requests.push(Buffer.from(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array))
  lastTraceIds[0] = spans[0]?.spanContext().traceId ?? ''
}
const wireMB = requests.reduce((s, r) => s + r.length, 0) / 1e6
log(`generated ${requests.length} requests, ${totalSpans} spans, ${wireMB.toFixed(1)} MB protobuf`)

// 2. The rows the collector writes for them, into a local file; times the JS side of the hot path.
const aliases = loadEntityKeyAliases(join(import.meta.dirname, '../config'))
const file = createWriteStream(rowsFile)
let jsMs = 0
for (const body of requests) {
  const t = performance.now()
  const lines = spanRows(decodeTraceRequest(body), aliases)
  jsMs += performance.now() - t
  file.write(`${lines.join('\n')}\n`)
}
await new Promise((resolve) => file.end(resolve))
log(`collector decode+rows: ${((jsMs * 1000) / totalSpans).toFixed(2)} µs/span on one core`)

// 3. Ingest through a real all-in-one process.
const child = await startChildSignalbox({ SIGNALBOX_DATA_DIR: dataDir, SIGNALBOX_LOG_LEVEL: 'info' })
let peakRss = child.rssMB()
const rssTimer = setInterval(() => {
  peakRss = Math.max(peakRss, child.rssMB())
}, 100)
const latencies: number[] = []
let next = 0
const cpuBefore = child.cpuSeconds()
const started = performance.now()
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < requests.length) {
      const body = requests[next++] as Buffer
      for (;;) {
        const t = performance.now()
        const res = await fetch(`${child.collectorUrl}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf' },
          body: body as BodyInit,
        })
        await res.arrayBuffer()
        if (res.status === 200) {
          latencies.push(performance.now() - t)
          break
        }
        if (res.status !== 429 && res.status !== 503) throw new Error(`collector answered ${res.status}`)
        await new Promise((r) => setTimeout(r, 50)) // honour backpressure like an exporter would
      }
    }
  }),
)
// Acknowledged means written: the last trace reads back at once.
const check = await fetch(`${child.apiUrl}/api/traces/${lastTraceIds[0]}`)
if (check.status !== 200) throw new Error(`last trace not queryable: ${check.status}`)
const ingestSeconds = (performance.now() - started) / 1000
const cores = (child.cpuSeconds() - cpuBefore) / ingestSeconds
clearInterval(rssTimer)
peakRss = Math.max(peakRss, child.rssMB())
await child.stop()
const spansPerSec = totalSpans / ingestSeconds
log(
  `ingest: ${totalSpans} spans in ${ingestSeconds.toFixed(2)} s = ${Math.round(spansPerSec)} spans/s; request p50 ${median(latencies).toFixed(0)} ms; peak RSS ${peakRss.toFixed(0)} MB; Signalbox used ${cores.toFixed(2)} cores`,
)

// 4. Storage per span, after merges, and the engine's own insert rate for the same rows.
const store = await openStore({
  dataDir,
  clickhouse: { database: 'signalbox' },
  query: { timeoutSeconds: 600 },
})
const [{ n } = { n: '0' }] = await store.query<{ n: string }>({
  query: 'SELECT count() AS n FROM spans',
  query_params: {},
})
if (Number(n) !== totalSpans) throw new Error(`stored ${n} spans, sent ${totalSpans}`)
await store.command('OPTIMIZE TABLE spans FINAL')
const sizes = await store.query<{ table: string; bytes: string }>({
  query:
    "SELECT table, sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = 'signalbox' AND active GROUP BY table",
  query_params: {},
})
const bytesOf = (t: string) => Number(sizes.find((s) => s.table === t)?.bytes ?? 0)
const bytesPerSpan = bytesOf('spans') / totalSpans
const indexBytesPerSpan = (bytesOf('trace_index') + bytesOf('entity_index')) / totalSpans
log(
  `disk: ${bytesPerSpan.toFixed(1)} bytes/span in spans, +${indexBytesPerSpan.toFixed(1)} bytes/span in trace and entity indexes`,
)

await store.command('CREATE DATABASE IF NOT EXISTS baseline')
for (const m of MIGRATIONS)
  for (const s of m.statements({ database: 'baseline' }, retention)) await store.command(s)
const t0 = performance.now()
await store.command(
  `INSERT INTO baseline.spans (${SPAN_COLUMNS.join(', ')}) FROM INFILE '${rowsFile}' FORMAT JSONCompactEachRow`,
)
const engineSeconds = (performance.now() - t0) / 1000
const engineRowsPerSec = totalSpans / engineSeconds
await store.close()
rmSync(work, { recursive: true, force: true })
log(
  `engine alone: ${totalSpans} rows from a local file in ${engineSeconds.toFixed(2)} s = ${Math.round(engineRowsPerSec)} rows/s`,
)

console.log(
  JSON.stringify({
    spans: totalSpans,
    spansPerSec: Math.round(spansPerSec),
    engineRowsPerSec: Math.round(engineRowsPerSec),
    ratio: Number((spansPerSec / engineRowsPerSec).toFixed(2)),
    rssMB: Math.round(peakRss),
    bytesPerSpan: Number(bytesPerSpan.toFixed(1)),
    indexBytesPerSpan: Number(indexBytesPerSpan.toFixed(1)),
    requestP50Ms: Number(median(latencies).toFixed(1)),
    jsMicrosPerSpan: Number(((jsMs * 1000) / totalSpans).toFixed(2)),
    coresUsed: Number(cores.toFixed(2)),
  }),
)
