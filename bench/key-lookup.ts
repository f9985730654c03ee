/**
 * The exactly-once lookup on its own: which of a batch's spans are already stored, asked of the trace
 * index the way the collector asks it (collector/pipeline.ts, storedSpanKeys), on an index of `ROWS`
 * keys (8 spans a trace, a row a trace, the last hour). Measured beside the key table it replaced
 * (`span_keys` as migration 24 left it: a row a span, 256-row granules, small blocks) holding the same
 * keys, with the same batches: fresh trace ids (the usual case: nothing found) and stored ones (a
 * retry). Each table is merged into one part a day first. Medians of 9 runs. Last line: one JSON object.
 *
 *   npm run bench:keys                 (ROWS=20000000)
 *   ROWS=2000000 npm run bench:keys    (a smaller table)
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore } from '../store/client.ts'
import { migrate } from '../store/migrate.ts'
import { storedSpanKeys } from '../store/queries/traces.ts'
import { Fragment, nanos, sql } from '../store/sql.ts'
import { median } from './figures.ts'

const ROWS = Number(process.env.ROWS ?? 20_000_000)
if (!Number.isInteger(ROWS) || ROWS < 8)
  throw new Error(`ROWS must be a whole number of keys, 8 or more: ${ROWS}`)
const RUNS = 9
const TRACES = Math.floor(ROWS / 8)
const log = (msg: string) => process.stderr.write(`${msg}\n`)

const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-bench-keys-'))
const store = await openStore({
  dataDir,
  clickhouse: { database: 'signalbox' },
  query: { timeoutSeconds: 600 },
})
await migrate(store, { spans: 30, logs: 30, events: 400 })

// Trace n's id is md5(n) in hex; its spans start within the last hour.
const traceId = (n: number) => createHash('md5').update(String(n)).digest('hex')
log(`filling the trace index with ${ROWS} keys`)
await store.command(
  'INSERT INTO signalbox.trace_index (trace_id, start, end, span_count, span_keys) ' +
    'SELECT lower(hex(MD5(toString(number)))), now64(9) - toIntervalSecond(number % 3600) AS at, ' +
    "at + toIntervalMillisecond(800), 8, arrayMap(i -> concat(lower(hex(substring(MD5(toString(number * 8 + i)), 1, 8))), 'svc'), range(8)) " +
    `FROM numbers(${TRACES})`,
)
await store.command('OPTIMIZE TABLE signalbox.trace_index FINAL')
// The key table before migration 27, for comparison in the same run.
await store.command(
  'CREATE TABLE signalbox.span_keys_before (trace_id String CODEC(ZSTD(1)), span_id String CODEC(ZSTD(1)), ' +
    'service_name LowCardinality(String), timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1))) ENGINE = MergeTree ' +
    'PARTITION BY toDate(timestamp) ORDER BY trace_id ' +
    'SETTINGS index_granularity = 256, min_compress_block_size = 4096, max_compress_block_size = 8192',
)
await store.command(
  'INSERT INTO signalbox.span_keys_before SELECT trace_id, substring(key, 1, 16), substring(key, 17), start ' +
    'FROM signalbox.trace_index ARRAY JOIN span_keys AS key',
)
await store.command('OPTIMIZE TABLE signalbox.span_keys_before FINAL')

const from = BigInt(Date.now() - 3_700_000) * 1_000_000n
const to = BigInt(Date.now() + 60_000) * 1_000_000n

/** One lookup as the collector makes it, or as it was made of the key table before migration 27. */
async function lookup(layout: 'now' | 'before', traces: string[]): Promise<number> {
  const t = performance.now()
  if (layout === 'now') await storedSpanKeys(store, traces, from, to)
  else
    await store.query(
      // A fixed name of this bench's own, never input.
      sql`SELECT concat(trace_id, span_id, service_name) AS k FROM ${new Fragment(['span_keys_before'], 'span_keys_before', {})}
          WHERE timestamp >= ${nanos(from)} AND timestamp <= ${nanos(to)} AND trace_id IN ${traces}`,
    )
  return performance.now() - t
}

const results: Record<string, number> = {}
for (const traces of [500, 2000])
  for (const kind of ['fresh', 'retry'] as const) {
    const times = { now: [] as number[], before: [] as number[] }
    for (let r = 0; r < RUNS; r++) {
      // Fresh: ids never stored; retry: stored ones, spread over the table.
      const ids = Array.from({ length: traces }, (_, i) =>
        kind === 'fresh' ? traceId(TRACES + r * traces + i) : traceId((r * 7919 + i * 104_729) % TRACES),
      )
      for (const layout of r % 2 ? (['now', 'before'] as const) : (['before', 'now'] as const))
        times[layout].push(await lookup(layout, ids))
    }
    const now = median(times.now)
    const before = median(times.before)
    results[`${kind}${traces}Ms`] = Number(now.toFixed(1))
    results[`${kind}${traces}BeforeMs`] = Number(before.toFixed(1))
    log(
      `${String(traces).padStart(5)} trace ids, ${kind.padEnd(5)}: ${now.toFixed(1)} ms (the key table before migration 27: ${before.toFixed(1)} ms, ${(before / now).toFixed(2)}x)`,
    )
  }
const sizes = await store.query<{ table: string; perKey: number }>({
  query:
    "SELECT table, round(sum(bytes_on_disk) / {keys:UInt64}, 1) AS perKey FROM system.parts WHERE database = 'signalbox' AND active AND table IN ('trace_index', 'span_keys_before') GROUP BY table",
  query_params: { keys: TRACES * 8 },
})
const perKey = (t: string) => Number(sizes.find((s) => s.table === t)?.perKey ?? 0)
results.bytesPerKey = perKey('trace_index')
results.bytesPerKeyBefore = perKey('span_keys_before')
log(
  `disk: ${results.bytesPerKey} bytes a key, the trace index's whole row included (the key table before migration 27: ${results.bytesPerKeyBefore})`,
)
await store.close()
rmSync(dataDir, { recursive: true, force: true })
console.log(JSON.stringify({ rows: ROWS, ...results }))
