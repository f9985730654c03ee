/**
 * What the engine spends on a span, its background merges included, with the merge settings of
 * migration 25 (FEWER_MERGES on spans, logs and the entity and trace indexes) against the engine's
 * defaults. Each run is its own process on a fresh store (one embedded engine a process): back-to-back
 * inserts of realistic spans in Native blocks, as the collector writes them, then a wait until no
 * merge runs; the process's CPU time over the inserts and that wait, per span. Runs alternate between
 * the two settings; medians of `RUNS`. Last line: one JSON object.
 *
 *   npm run bench:merges                     (WRITES=50 inserts of ROWS_PER_WRITE=16384 spans, RUNS=3)
 *   ROWS_PER_WRITE=2048 WRITES=200 npm run bench:merges   (the write size of 8 senders × 512)
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { spanBlock } from '../collector/native/spans.ts'
import { decodeTraceRequest } from '../collector/otlp/decode-proto.ts'
import { SPAN_COLUMNS } from '../collector/rows.ts'
import { loadEntityKeyAliases } from '../core/entity-keys.ts'
import { openStore } from '../store/client.ts'
import { migrate } from '../store/migrate.ts'
import { FEWER_MERGES, FEWER_MERGES_TABLES } from '../store/migrations/0025_fewer_merges.ts'
import { TABLES } from '../store/tables.ts'
import { orderTrace } from './retail-traces.ts'

const whole = (name: string, fallback: number, min: number) => {
  const n = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number, ${min} or more`)
  return n
}
const WRITES = whole('WRITES', 50, 1)
const ROWS_PER_WRITE = whole('ROWS_PER_WRITE', 16_384, 512)
const RUNS = whole('RUNS', 3, 1)
const VARIANT = process.env.BENCH_MERGES_VARIANT
const log = (msg: string) => process.stderr.write(`${msg}\n`)
/** A ratio as people say it: "23% less" or "7% more". */
const change = (ratio: number) =>
  `${Math.abs(Math.round((1 - ratio) * 100))}% ${ratio <= 1 ? 'less' : 'more'}`
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

interface RunResult {
  readonly cpuMicrosPerSpan: number
  readonly spansPerSec: number
  readonly partsAfter: number
}

/** One run in this process: `defaults` resets migration 25's settings after migrating. */
async function measure(variant: 'migrated' | 'defaults'): Promise<RunResult> {
  const aliases = loadEntityKeyAliases(join(import.meta.dirname, '../config'))
  const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-bench-merges-'))
  const store = await openStore({
    dataDir,
    clickhouse: { database: 'signalbox' },
    query: { timeoutSeconds: 600 },
  })
  try {
    await migrate(store, { spans: 30, logs: 30, events: 400 })
    if (variant === 'defaults')
      for (const t of FEWER_MERGES_TABLES)
        await store.command(
          `ALTER TABLE signalbox.${t} RESET SETTING ${Object.keys(FEWER_MERGES).join(', ')}`,
        )
    // The blocks are made before the clock starts: 512 spans a block, one a request.
    let order = 0
    const writes: Buffer[][] = []
    for (let w = 0; w < WRITES; w++) {
      const blocks: Buffer[] = []
      for (let b = 0; b < ROWS_PER_WRITE / 512; b++) {
        const batch = []
        for (let k = 0; k < 64; k++, order++)
          batch.push(...orderTrace(order, Date.now() - 3_600_000 + order * 10))
        const request = Buffer.from(ProtobufTraceSerializer.serializeRequest(batch) as Uint8Array)
        blocks.push(spanBlock(decodeTraceRequest(request), aliases))
      }
      writes.push(blocks)
    }
    const cpu = process.cpuUsage()
    const started = performance.now()
    for (const blocks of writes) await store.insertNative(TABLES.spans, SPAN_COLUMNS, blocks)
    const insertMs = performance.now() - started
    // Until no merge has run for 2 s: the merges the inserts caused are paid for in this run.
    for (let quiet = 0; quiet < 20; ) {
      const [m] = await store.query<{ n: string }>({
        query: 'SELECT count() AS n FROM system.merges',
        query_params: {},
      })
      quiet = Number(m?.n) === 0 ? quiet + 1 : 0
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const used = process.cpuUsage(cpu)
    const [parts] = await store.query<{ n: string }>({
      query:
        "SELECT count() AS n FROM system.parts WHERE active AND database = 'signalbox' AND table = 'spans'",
      query_params: {},
    })
    const total = WRITES * ROWS_PER_WRITE
    return {
      cpuMicrosPerSpan: Math.round(((used.user + used.system) / total) * 10) / 10,
      spansPerSec: Math.round((total * 1000) / insertMs),
      partsAfter: Number(parts?.n),
    }
  } finally {
    await store.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

if (VARIANT === 'migrated' || VARIANT === 'defaults') {
  process.stdout.write(`${JSON.stringify(await measure(VARIANT))}\n`)
} else {
  const results: Record<'migrated' | 'defaults', RunResult[]> = { migrated: [], defaults: [] }
  log(`${WRITES} writes of ${ROWS_PER_WRITE} spans, ${RUNS} runs a setting, alternating`)
  for (let r = 0; r < RUNS; r++)
    for (const variant of ['defaults', 'migrated'] as const) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', import.meta.filename], {
        env: { ...process.env, BENCH_MERGES_VARIANT: variant },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      const result = JSON.parse(out.trim().split('\n').pop() as string) as RunResult
      results[variant].push(result)
      log(
        `  ${variant.padEnd(9)} ${result.cpuMicrosPerSpan} µs CPU a span, ${result.spansPerSec} spans/s inserted, ${result.partsAfter} spans parts after`,
      )
    }
  const summary = Object.fromEntries(
    (['defaults', 'migrated'] as const).map((v) => [
      v,
      {
        cpuMicrosPerSpan: median(results[v].map((x) => x.cpuMicrosPerSpan)),
        spansPerSec: median(results[v].map((x) => x.spansPerSec)),
        partsAfter: median(results[v].map((x) => x.partsAfter)),
      },
    ]),
  ) as Record<'migrated' | 'defaults', RunResult>
  log(
    `medians: ${summary.defaults.cpuMicrosPerSpan} µs a span with the engine's defaults, ` +
      `${summary.migrated.cpuMicrosPerSpan} with migration 25 ` +
      `(${change(summary.migrated.cpuMicrosPerSpan / summary.defaults.cpuMicrosPerSpan)})`,
  )
  process.stdout.write(
    `${JSON.stringify({ writes: WRITES, rowsPerWrite: ROWS_PER_WRITE, runs: RUNS, ...summary })}\n`,
  )
}
