/**
 * The engine's side of a span write, alone, in one process: the same 20,000 realistic spans encoded
 * and inserted as JSONCompactEachRow text (the collector's format before Native blocks) and as one
 * Native block, each into the spans table with its materialized views; and what an insert costs
 * whatever its size (100 spans, with the views and with them detached). Medians of interleaved runs.
 * Last line: one JSON object.
 *
 *   npm run bench:insert            (BENCH_RUNS=7)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spanBlock } from '../collector/native/spans.ts'
import type { SpanRecord } from '../collector/otlp/model.ts'
import { SPAN_COLUMNS } from '../collector/rows.ts'
import { ResourceIds } from '../collector/spans/resources.ts'
import { repairLines } from '../collector/well-formed.ts'
import { loadEntityKeyAliases } from '../core/entity-keys.ts'
import { openStore } from '../store/client.ts'
import { migrate } from '../store/migrate.ts'
import { TABLES } from '../store/tables.ts'
import { spanRows } from '../test/support/span-rows.ts'
import { median } from './figures.ts'
import { orderRequestSpans, spanViews } from './span-blocks.ts'

const RUNS = Number(process.env.BENCH_RUNS ?? 7)
const SPANS = 20_000
const aliases = loadEntityKeyAliases(join(import.meta.dirname, '../config'))
const now = Date.now()
let order = 0

/** `n` spans of realistic order traces, decoded as the collector receives them. */
function spans(n: number): SpanRecord[] {
  const out: SpanRecord[] = []
  for (; out.length < n; order += 64) out.push(...orderRequestSpans(order, now - 3_600_000))
  return out.slice(0, n)
}

const timed = async (f: () => unknown) => {
  const t = performance.now()
  await f()
  return performance.now() - t
}
const jsonText = (s: readonly SpanRecord[]) => {
  const lines = spanRows(s, aliases)
  repairLines(lines)
  return `${lines.join('\n')}\n`
}

const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-bench-insert-'))
const store = await openStore({
  dataDir,
  clickhouse: { database: 'signalbox' },
  query: { timeoutSeconds: 600 },
})
await migrate(store, { spans: 30, logs: 30, events: 400 })

// Encoding, and inserting the same rows each way: fresh spans every run, so none is a duplicate.
const encode = { json: [] as number[], native: [] as number[] }
const insert = { json: [] as number[], native: [] as number[] }
for (let r = 0; r < RUNS + 1; r++) {
  for (const kind of r % 2 ? (['json', 'native'] as const) : (['native', 'json'] as const)) {
    const batch = spans(SPANS)
    let text = ''
    let block: Buffer = Buffer.alloc(0)
    const encodeMs = await timed(() => {
      if (kind === 'json') text = jsonText(batch)
      else block = spanBlock(batch, aliases, new ResourceIds())
    })
    const insertMs = await timed(() =>
      kind === 'json'
        ? store.insertRows(TABLES.spans, SPAN_COLUMNS, [text])
        : store.insertNative(TABLES.spans, SPAN_COLUMNS, [block]),
    )
    if (r === 0) continue // warm-up
    encode[kind].push((encodeMs * 1000) / SPANS)
    insert[kind].push(insertMs)
  }
}

// What one insert costs whatever its size: 100 spans, with the views, then with them detached.
const smallInsert = async () => {
  const ms: number[] = []
  for (let r = 0; r < RUNS; r++) {
    const block = spanBlock(spans(100), aliases, new ResourceIds())
    ms.push(await timed(() => store.insertNative(TABLES.spans, SPAN_COLUMNS, [block])))
  }
  return median(ms)
}
const views = await spanViews(store, 'signalbox')
const withViews = await smallInsert()
for (const name of views) await store.command(`DETACH TABLE ${name}`)
const withoutViews = await smallInsert()
for (const name of views) await store.command(`ATTACH TABLE ${name}`)
await store.close()
rmSync(dataDir, { recursive: true, force: true })

const result = {
  spans: SPANS,
  runs: RUNS,
  encodeMicrosPerSpan: {
    json: Number(median(encode.json).toFixed(2)),
    native: Number(median(encode.native).toFixed(2)),
  },
  insertMs: { json: Math.round(median(insert.json)), native: Math.round(median(insert.native)) },
  views: views.length,
  insert100SpansMs: { withViews: Math.round(withViews), withoutViews: Math.round(withoutViews) },
}
console.log(
  `${SPANS} spans, medians of ${RUNS}: encode ${result.encodeMicrosPerSpan.json} µs/span as JSON rows, ${result.encodeMicrosPerSpan.native} as a Native block; ` +
    `insert with the views ${result.insertMs.json} ms as JSON, ${result.insertMs.native} ms as Native`,
)
console.log(
  `100 spans: ${result.insert100SpansMs.withViews} ms with the ${views.length} views on spans, ${result.insert100SpansMs.withoutViews} ms with them detached`,
)
console.log(JSON.stringify(result))
