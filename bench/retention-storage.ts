/**
 * What retention by outcome costs on disk: seeds a day of order-to-cash traffic (bench/seed.ts, with
 * its ~2% of orders failing at the ERP), merges it, and reads bytes per row of each table from the
 * engine's own `system.parts`; then prints the disk a retention choice takes at that volume, with
 * successes kept `SUCCESS` days and failed traces `FAILED` days. Last line: one JSON object.
 *
 *   node --import tsx bench/retention-storage.ts     (RETENTION_ORDERS=30000 ≈ 1 M spans)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type FlowDefinition, loadFlows } from '../core/flows.ts'
import { openStore } from '../store/client.ts'
import { migrate } from '../store/migrate.ts'
import { sql, table } from '../store/sql.ts'
import { TABLES } from '../store/tables.ts'
import { seedOrders } from './seed.ts'

const ORDERS = Number(process.env.RETENTION_ORDERS ?? 30_000)
const log = (msg: string) => process.stderr.write(`${msg}\n`)
const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-retention-storage-'))
const store = await openStore({
  dataDir,
  clickhouse: { database: 'signalbox' },
  query: { timeoutSeconds: 600 },
})
try {
  const retention = { spans: 30, logs: 30, events: 400, failed: 90 }
  await migrate(store, retention)
  const flow = loadFlows(join(import.meta.dirname, '../config')).get('order_to_cash') as FlowDefinition
  await seedOrders(store, flow, { orders: ORDERS, end: new Date() }, log)
  const measured = [TABLES.spans, TABLES.traceIndex, TABLES.events, TABLES.failedTraces] as const
  for (const name of measured) await store.command(sql`OPTIMIZE TABLE ${table(name)} FINAL`)
  const parts = await store.query<{ table: string; rows: string; bytes: string }>(sql`
    SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts
    WHERE database = currentDatabase() AND active AND table IN ${[...measured]}
    GROUP BY table`)
  const of = (name: string) => parts.find((p) => p.table === name) ?? { rows: '0', bytes: '0' }
  const perRow = (name: string) => Number(of(name).bytes) / Math.max(1, Number(of(name).rows))
  const [traces] = await store.query<{ all: string; failed: string }>(sql`
    SELECT uniqExact(trace_id) AS all,
      (SELECT uniqExact(trace_id) FROM ${table(TABLES.failedTraces)}) AS failed
    FROM ${table(TABLES.spans)}`)
  const failedShare = Number(traces?.failed) / Math.max(1, Number(traces?.all))
  const spansPerDay = Number(of(TABLES.spans).rows)
  // Bytes a day of spans and its trace index take, kept `success` days and failures `failed` days.
  const dayBytes = Number(of(TABLES.spans).bytes) + Number(of(TABLES.traceIndex).bytes)
  const disk = (success: number, failed: number) =>
    dayBytes * (success * (1 - failedShare) + failed * failedShare)
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`
  const choices = [
    [30, 30],
    [30, 90],
    [30, 180],
    [90, 90],
  ] as const
  for (const [s, f] of choices) log(`successes ${s} d, failures ${f} d: ${gib(disk(s, f))}`)
  const result = {
    orders: ORDERS,
    spansPerDay,
    failedTraceShare: Number(failedShare.toFixed(4)),
    bytesPerSpan: Number(perRow(TABLES.spans).toFixed(1)),
    bytesPerTraceIndexRow: Number(perRow(TABLES.traceIndex).toFixed(1)),
    bytesPerEvent: Number(perRow(TABLES.events).toFixed(1)),
    bytesPerFailedTrace: Number(perRow(TABLES.failedTraces).toFixed(1)),
    diskBytes: Object.fromEntries(choices.map(([s, f]) => [`${s}/${f}`, Math.round(disk(s, f))])),
  }
  console.log(JSON.stringify(result))
} finally {
  await store.close()
  rmSync(dataDir, { recursive: true, force: true })
}
