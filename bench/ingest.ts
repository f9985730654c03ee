/**
 * OTLP protobuf ingest into the embedded store, as a curve: spans/s acknowledged (only once durable
 * and queryable), acknowledgement p50/p99, peak RSS and cores used (and by whom: the main thread,
 * Node's other threads, the engine's merges, its pipelines) at 8, 32, 64 and 128 senders with
 * 512-span batches (the OTel SDK's default export batch) and at 8 senders with 8,192-span batches
 * (the OpenTelemetry Collector's). Each point runs on a fresh all-in-one process. Beside it, the
 * engine's own insert rate for the same rows into the same tables, measured in the same run.
 * Last line: one JSON object.
 *
 *   npm run bench:ingest                 (BENCH_SPANS=1200000 per point: the steady state, not the warm-up)
 *   BENCH_POINTS=64x512 npm run bench:ingest   (one point)
 *   BENCH_REPEAT=3 npm run bench:ingest         (each point three times; the median run reported)
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { spanBlock } from '../collector/native/spans.ts'
import { decodeTraceRequest } from '../collector/otlp/decode-proto.ts'
import { SPAN_COLUMNS } from '../collector/rows.ts'
import { ResourceIds } from '../collector/spans/resources.ts'
import { loadEntityKeyAliases } from '../core/entity-keys.ts'
import { openStore } from '../store/client.ts'
import { MIGRATIONS } from '../store/migrations/index.ts'
import { startChildSignalbox, type ThreadKind } from './child.ts'
import { orderTrace } from './retail-traces.ts'

// 240,000 spans a point was mostly a fresh process's warm-up (JIT, the first writes' cautious admission):
// 64 × 512 gave 30–35,000 spans/s with it and about 40,000 over 1.2 M.
const SPANS_PER_POINT = Number(process.env.BENCH_SPANS ?? 1_200_000)
/** Runs of each point; the median run (by spans/s) is the one reported. This machine is shared and noisy. */
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 1))
const ENGINE_TIMINGS = 3
const SPANS_PER_ORDER = 8
const POINTS = (process.env.BENCH_POINTS ?? '8x512,32x512,64x512,128x512,8x8192').split(',').map((p) => {
  const [senders, batch] = p.split('x').map(Number)
  return { senders: senders as number, batch: batch as number }
})
const retention = { spans: 30, logs: 30, events: 400 }

const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * q)] ?? 0
const log = (msg: string) => process.stderr.write(`${msg}\n`)
const work = mkdtempSync(join(tmpdir(), 'signalbox-bench-'))
const aliases = loadEntityKeyAliases(join(import.meta.dirname, '../config'))

/** Requests of `batch` spans over the last hour, encoded by the official OTLP serializer. */
function requests(batch: number, firstOrder: number): { bodies: Buffer[]; spans: number; lastTrace: string } {
  const ordersPerRequest = batch / SPANS_PER_ORDER
  const orders = Math.ceil(SPANS_PER_POINT / SPANS_PER_ORDER)
  const now = Date.now()
  const bodies: Buffer[] = []
  let spans = 0
  let lastTrace = ''
  for (let first = 0; first < orders; first += ordersPerRequest) {
    const trace = []
    for (let n = first; n < Math.min(first + ordersPerRequest, orders); n++)
      trace.push(...orderTrace(firstOrder + n, now - 3_600_000 + (n / orders) * 3_540_000))
    spans += trace.length
    lastTrace = trace[0]?.spanContext().traceId ?? lastTrace
    bodies.push(Buffer.from(ProtobufTraceSerializer.serializeRequest(trace) as Uint8Array))
  }
  return { bodies, spans, lastTrace }
}

interface Point {
  senders: number
  batch: number
  spansPerSec: number
  ackP50Ms: number
  ackP99Ms: number
  refused429: number
  peakRssMB: number
  cores: number
  /**
   * Where the CPU goes, in cores, by kind of thread (bench/child.ts): the main thread, Node's other
   * threads (decoding, garbage collection, and libuv's, where the engine's calls from JavaScript run:
   * some of the engine's insert work is counted there), the engine's merges and its pipelines. A
   * thread is filed by its name at the second reading, and threads that ended during the point are
   * left out: the four may differ from `cores` by a few hundredths.
   */
  coresBy: Record<ThreadKind, number>
  /** Where the time goes: writes to the spans table, their mean size and duration. */
  writes: number
  rowsPerWrite: number
  writeMs: number
}

/** From the collector's /metrics: how many span writes, how big, how long (the engine's side). */
async function writeFigures(
  collectorUrl: string,
): Promise<Pick<Point, 'writes' | 'rowsPerWrite' | 'writeMs'>> {
  const text = await (await fetch(`${collectorUrl}/metrics`)).text()
  const value = (prefix: string) =>
    Number(
      text
        .split('\n')
        .find((l) => l.startsWith(prefix))
        ?.split(' ')
        .pop() ?? 0,
    )
  const writes = value('signalbox_collector_flush_duration_seconds_count{table="spans"}')
  const seconds = value('signalbox_collector_flush_duration_seconds_sum{table="spans"}')
  const rows = value('signalbox_collector_flushed_rows_total{table="spans"}')
  return {
    writes,
    rowsPerWrite: Math.round(rows / Math.max(writes, 1)),
    writeMs: Math.round((seconds * 1000) / Math.max(writes, 1)),
  }
}

/** Cores each kind of thread used between two readings `seconds` apart (threads alive at the second). */
function coresByKind(
  before: Map<number, { seconds: number }>,
  after: Map<number, { kind: ThreadKind; seconds: number }>,
  seconds: number,
): Record<ThreadKind, number> {
  const used: Record<ThreadKind, number> = { main: 0, node: 0, merges: 0, engine: 0 }
  for (const [tid, t] of after) used[t.kind] += t.seconds - (before.get(tid)?.seconds ?? 0)
  for (const kind of Object.keys(used) as ThreadKind[]) used[kind] = Number((used[kind] / seconds).toFixed(2))
  return used
}

/** One point of the curve on a fresh all-in-one: every request sent until acknowledged. */
async function measure(senders: number, batch: number, firstOrder: number, dataDir: string): Promise<Point> {
  const { bodies, spans, lastTrace } = requests(batch, firstOrder)
  const child = await startChildSignalbox({ SIGNALBOX_DATA_DIR: dataDir, SIGNALBOX_LOG_LEVEL: 'info' })
  let peakRss = child.rssMB()
  const rssTimer = setInterval(() => {
    peakRss = Math.max(peakRss, child.rssMB())
  }, 100)
  // A failed point (a refused request, a trace not found) must not leave its Signalbox running
  // beside the next point's: a stray all-in-one skews every figure after it.
  try {
    const acks: number[] = []
    let refused429 = 0
    let next = 0
    const cpuBefore = child.cpuSeconds()
    const threadsBefore = child.cpuSecondsByThread()
    const started = performance.now()
    await Promise.all(
      Array.from({ length: senders }, async () => {
        while (next < bodies.length) {
          const body = bodies[next++] as Buffer
          for (let attempt = 0; ; attempt++) {
            const t = performance.now()
            const res = await fetch(`${child.collectorUrl}/v1/traces`, {
              method: 'POST',
              headers: { 'content-type': 'application/x-protobuf' },
              body: body as BodyInit,
            })
            await res.arrayBuffer()
            if (res.status === 200) {
              acks.push(performance.now() - t)
              break
            }
            if ((res.status !== 429 && res.status !== 503) || attempt > 1000)
              throw new Error(`collector answered ${res.status}`)
            if (res.status === 429) refused429++
            // Honour Retry-After as an exporter does, with jitter so senders do not return in step.
            const wait = Number(res.headers.get('retry-after') ?? 1) * 1000
            await new Promise((r) => setTimeout(r, wait * (0.5 + Math.random() / 2)))
          }
        }
      }),
    )
    const writes = await writeFigures(child.collectorUrl)
    const check = await fetch(`${child.apiUrl}/api/traces/${lastTrace}`)
    if (check.status !== 200) throw new Error(`last trace not queryable: ${check.status}`)
    const seconds = (performance.now() - started) / 1000
    const cores = (child.cpuSeconds() - cpuBefore) / seconds
    const coresBy = coresByKind(threadsBefore, child.cpuSecondsByThread(), seconds)
    clearInterval(rssTimer)
    peakRss = Math.max(peakRss, child.rssMB())
    const point: Point = {
      senders,
      batch,
      spansPerSec: Math.round(spans / seconds),
      ackP50Ms: Math.round(quantile(acks, 0.5)),
      ackP99Ms: Math.round(quantile(acks, 0.99)),
      refused429,
      peakRssMB: Math.round(peakRss),
      cores: Number(cores.toFixed(2)),
      coresBy,
      ...writes,
    }
    log(
      `${String(senders).padStart(4)} × ${String(batch).padEnd(5)} ${String(point.spansPerSec).padStart(7)} spans/s  ack p50 ${point.ackP50Ms} ms p99 ${point.ackP99Ms} ms  429s ${refused429}  peak RSS ${point.peakRssMB} MB  ${point.cores} cores (main ${point.coresBy.main}, node ${point.coresBy.node}, merges ${point.coresBy.merges}, engine ${point.coresBy.engine})  ${point.writes} writes of ${point.rowsPerWrite} rows, ${point.writeMs} ms each`,
    )
    return point
  } finally {
    clearInterval(rssTimer)
    await child.stop()
  }
}

/** Requests a write holds at 64 × 512 (about 16,000 rows: the senders split in two groups). */
const REQUESTS_PER_WRITE = 32

interface EngineRate {
  /** Rows per second of one insert of every row from a local file: the divisor of the ratio. */
  rowsPerSec: number
  /** Rows per second of back-to-back inserts the size of the collector's at 64 × 512, merges running. */
  rowsPerSecInWrites: number
  jsMicrosPerSpan: number
}

// The engine's own rate for the same rows into the same tables and views, from a local file in the
// format the collector sends (Native blocks, one a request): the fastest the engine takes them. And
// beside it, the same rows in the collector's write size, one file a write as the collector stages
// them: what the engine does at the size acknowledgements within a second allow.
async function engineRate(dataDir: string): Promise<EngineRate> {
  const { bodies, spans } = requests(512, 0)
  const rowsFile = join(work, 'spans.native')
  const file = createWriteStream(rowsFile)
  const writeFiles: string[] = []
  let write: ReturnType<typeof createWriteStream> | undefined
  let jsMs = 0
  for (const [i, body] of bodies.entries()) {
    const t = performance.now()
    const block = spanBlock(decodeTraceRequest(body), aliases, new ResourceIds())
    jsMs += performance.now() - t
    file.write(block)
    if (i % REQUESTS_PER_WRITE === 0) {
      if (write) await new Promise((resolve) => write?.end(resolve))
      writeFiles.push(join(work, `write-${writeFiles.length}.native`))
      write = createWriteStream(writeFiles.at(-1) as string)
    }
    write?.write(block)
  }
  await new Promise((resolve) => file.end(resolve))
  if (write) await new Promise((resolve) => write?.end(resolve))
  const store = await openStore({
    dataDir,
    clickhouse: { database: 'signalbox' },
    query: { timeoutSeconds: 600 },
  })
  // On a point's store, its own tables go first: their pending merges (a million spans' worth after a
  // long point) would run during the timing and halve the engine's rate.
  await store.command('DROP DATABASE IF EXISTS signalbox SYNC')
  const insert = (from: string) =>
    store.command(
      `INSERT INTO baseline.spans (${SPAN_COLUMNS.join(', ')}) FROM INFILE '${from}' FORMAT Native`,
    )
  const timed = async (run: () => Promise<void>): Promise<number> => {
    await store.command('CREATE DATABASE IF NOT EXISTS baseline')
    for (const m of MIGRATIONS)
      for (const s of m.statements({ database: 'baseline' }, retention)) await store.command(s)
    const t0 = performance.now()
    await run()
    const rate = Math.round(spans / ((performance.now() - t0) / 1000))
    await store.command('DROP DATABASE baseline SYNC')
    return rate
  }
  // Timed three times, each into fresh tables, the median kept: the ratio divides by this figure, and
  // one insert on a shared machine (52,000–139,000 rows/s across runs) is one moment's speed.
  const rates: number[] = []
  const inWrites: number[] = []
  for (let t = 0; t < ENGINE_TIMINGS; t++) {
    rates.push(await timed(() => insert(rowsFile)))
    inWrites.push(
      await timed(async () => {
        for (const f of writeFiles) await insert(f)
      }),
    )
  }
  log(
    `  engine alone: ${rates.join(', ')} rows/s in one insert; ${inWrites.join(', ')} in writes of ${REQUESTS_PER_WRITE * 512} rows`,
  )
  await store.close()
  return {
    rowsPerSec: median(rates, (r) => r),
    rowsPerSecInWrites: median(inWrites, (r) => r),
    jsMicrosPerSpan: Number(((jsMs * 1000) / spans).toFixed(2)),
  }
}

/** Disk per span after merges, on the store of one point. */
async function diskPerSpan(dataDir: string): Promise<{ bytesPerSpan: number; indexBytesPerSpan: number }> {
  const store = await openStore({
    dataDir,
    clickhouse: { database: 'signalbox' },
    query: { timeoutSeconds: 600 },
  })
  const [{ n } = { n: '0' }] = await store.query<{ n: string }>({
    query: 'SELECT count() AS n FROM spans',
    query_params: {},
  })
  await store.command('OPTIMIZE TABLE spans FINAL')
  const sizes = await store.query<{ table: string; bytes: string }>({
    query:
      "SELECT table, sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = 'signalbox' AND active GROUP BY table",
    query_params: {},
  })
  await store.close()
  const bytesOf = (t: string) => Number(sizes.find((s) => s.table === t)?.bytes ?? 0)
  return {
    bytesPerSpan: Number((bytesOf('spans') / Number(n)).toFixed(1)),
    indexBytesPerSpan: Number(((bytesOf('trace_index') + bytesOf('entity_index')) / Number(n)).toFixed(1)),
  }
}

log(`${SPANS_PER_POINT} spans per point; senders × batch`)
const curve: Point[] = []
/** The middle run of an odd number, by `by` (the upper middle of an even number). */
const median = <T>(runs: readonly T[], by: (run: T) => number): T =>
  [...runs].sort((a, b) => by(a) - by(b))[Math.floor(runs.length / 2)] as T
let disk = { bytesPerSpan: 0, indexBytesPerSpan: 0 }
let engine: EngineRate = { rowsPerSec: 0, rowsPerSecInWrites: 0, jsMicrosPerSpan: 0 }
const engines: Array<typeof engine> = []
for (const [i, { senders, batch }] of POINTS.entries()) {
  const runs: Point[] = []
  for (let r = 0; r < REPEAT; r++) {
    const dataDir = join(work, `data-${i}-${r}`)
    // Each run its own orders, so no run's spans are duplicates of another's.
    runs.push(await measure(senders, batch, (i * REPEAT + r) * 1_000_000, dataDir))
    if (senders === 64 && batch === 512) {
      disk = await diskPerSpan(dataDir)
      engines.push(await engineRate(dataDir))
    }
    rmSync(dataDir, { recursive: true, force: true })
  }
  const middle = median(runs, (p) => p.spansPerSec)
  if (REPEAT > 1) log(`${senders} × ${batch}: median of ${REPEAT} runs ${middle.spansPerSec} spans/s`)
  curve.push(middle)
}
// Each figure's median on its own: the runs' engine timings are independent of each other.
if (engines.length > 0)
  engine = {
    rowsPerSec: median(engines, (e) => e.rowsPerSec).rowsPerSec,
    rowsPerSecInWrites: median(engines, (e) => e.rowsPerSecInWrites).rowsPerSecInWrites,
    jsMicrosPerSpan: median(engines, (e) => e.jsMicrosPerSpan).jsMicrosPerSpan,
  }
if (engine.rowsPerSec === 0) engine = await engineRate(join(work, 'engine'))
rmSync(work, { recursive: true, force: true })
const headline = curve.find((p) => p.senders === 64 && p.batch === 512) ?? (curve[0] as Point)
log(
  `engine alone: ${engine.rowsPerSec} rows/s from a local file (${engine.rowsPerSecInWrites} in the collector's write size); collector decode+encode ${engine.jsMicrosPerSpan} µs/span on one core; disk ${disk.bytesPerSpan} bytes/span (+${disk.indexBytesPerSpan} in indexes)`,
)
/** Each point's spans/s against the engine's own rate, measured once a run (at 64 × 512). */
const ratioOf = (p: Point) => Number((p.spansPerSec / engine.rowsPerSec).toFixed(2))
/** The same against the engine writing as the collector must: what the collector adds to the writes. */
const ratioInWritesOf = (p: Point) => Number((p.spansPerSec / engine.rowsPerSecInWrites).toFixed(2))
log(`ratio to the engine alone: ${curve.map((p) => `${p.senders} × ${p.batch} ${ratioOf(p)}`).join(', ')}`)
log(
  `ratio to the engine in the collector's write size: ${curve.map((p) => `${p.senders} × ${p.batch} ${ratioInWritesOf(p)}`).join(', ')}`,
)
console.log(
  JSON.stringify({
    spansPerSec: headline.spansPerSec,
    engineRowsPerSec: engine.rowsPerSec,
    ratio: ratioOf(headline),
    engineRowsPerSecInWrites: engine.rowsPerSecInWrites,
    ratioInWrites: ratioInWritesOf(headline),
    rssMB: Math.max(...curve.map((p) => p.peakRssMB)),
    ackP99Ms: Math.max(...curve.map((p) => p.ackP99Ms)),
    bytesPerSpan: disk.bytesPerSpan,
    indexBytesPerSpan: disk.indexBytesPerSpan,
    jsMicrosPerSpan: engine.jsMicrosPerSpan,
    curve: curve.map((p) => ({ ...p, ratio: ratioOf(p) })),
  }),
)
