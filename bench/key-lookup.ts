/**
 * The exactly-once lookup on its own: which of a batch's spans are already stored, asked of
 * `span_keys` the way the collector asks it (collector/pipeline.ts, storedSpanKeys), on a table of
 * `ROWS` keys (8 spans a trace, the last hour). The table as the migrations build it is measured beside
 * a copy in the layout before migration 24 (1,024-row granules, the engine's default compressed
 * blocks), with the same queries: batches of fresh trace ids (the usual case: nothing found) and of
 * stored ones (a retry). Medians of 9 runs. Last line: one JSON object.
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
import { Fragment, nanos, sql, table } from '../store/sql.ts'
import { TABLES } from '../store/tables.ts'
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
log(`filling span_keys with ${ROWS} keys`)
await store.command(
  'INSERT INTO signalbox.span_keys SELECT lower(hex(MD5(toString(intDiv(number, 8))))), ' +
    `lower(hex(substring(MD5(toString(number)), 1, 8))), 'svc', now64(9) - toIntervalSecond(number % 3600) ` +
    `FROM numbers(${ROWS})`,
)
await store.command('OPTIMIZE TABLE signalbox.span_keys FINAL')
// The layout before migration 24, for comparison in the same run.
await store.command(
  'CREATE TABLE signalbox.span_keys_before AS signalbox.span_keys ENGINE = MergeTree ' +
    'PARTITION BY toDate(timestamp) ORDER BY trace_id SETTINGS index_granularity = 1024',
)
await store.command('INSERT INTO signalbox.span_keys_before SELECT * FROM signalbox.span_keys')
await store.command('OPTIMIZE TABLE signalbox.span_keys_before FINAL')

const from = BigInt(Date.now() - 3_700_000) * 1_000_000n
const to = BigInt(Date.now() + 60_000) * 1_000_000n

/** One lookup as the collector makes it, against the shipped table or the copy in the old layout. */
async function lookup(layout: 'now' | 'before', traces: string[]): Promise<number> {
  const keys =
    layout === 'now'
      ? table(TABLES.spanKeys)
      : // A fixed name of this bench's own, never input.
        new Fragment(['span_keys_before'], 'span_keys_before', {})
  const t = performance.now()
  await store.query(
    sql`SELECT concat(trace_id, span_id, service_name) AS k FROM ${keys}
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
      `${String(traces).padStart(5)} trace ids, ${kind.padEnd(5)}: ${now.toFixed(1)} ms (before migration 24: ${before.toFixed(1)} ms, ${(before / now).toFixed(1)}x)`,
    )
  }
const sizes = await store.query<{ table: string; perKey: number }>({
  query:
    "SELECT table, round(sum(bytes_on_disk) / sum(rows), 1) AS perKey FROM system.parts WHERE database = 'signalbox' AND active AND table IN ('span_keys', 'span_keys_before') GROUP BY table",
  query_params: {},
})
const perKey = (t: string) => Number(sizes.find((s) => s.table === t)?.perKey ?? 0)
results.bytesPerKey = perKey('span_keys')
results.bytesPerKeyBefore = perKey('span_keys_before')
log(`disk: ${results.bytesPerKey} bytes a key (before migration 24: ${results.bytesPerKeyBefore})`)
await store.close()
rmSync(dataDir, { recursive: true, force: true })
console.log(JSON.stringify({ rows: ROWS, ...results }))
