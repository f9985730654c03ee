import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join as pathJoin } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../core/config.ts'
import { openStore, type Store } from '../../store/client.ts'
import { migrate } from '../../store/migrate.ts'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'

const DAY_MS = 86_400_000
const dataDir = mkdtempSync(pathJoin(tmpdir(), 'signalbox-retention-'))
// As a user sets it: successes 30 days, failures 90, failures of return_to_refund 60.
const { retentionDays } = loadConfig(
  {
    SIGNALBOX_DATA_DIR: dataDir,
    SIGNALBOX_RETENTION_SPANS_DAYS: '30',
    SIGNALBOX_RETENTION_LOGS_DAYS: '30',
    SIGNALBOX_RETENTION_FAILED_DAYS: '90',
    SIGNALBOX_RETENTION_FAILED_DAYS_BY_FLOW: 'return_to_refund=60',
  },
  { readDotEnv: false },
)
let store: Store

beforeAll(async () => {
  store = await openStore({
    dataDir,
    // In the server-mode run, the same store over the ClickHouse HTTP test double.
    clickhouse: { database: 'signalbox_retention', url: process.env.SIGNALBOX_TEST_CLICKHOUSE_URL },
    query: { timeoutSeconds: 30 },
  })
  await migrate(store, retentionDays)
})
afterAll(async () => {
  await store.close()
  rmSync(dataDir, { recursive: true, force: true })
})

const traceId = (n: number) => n.toString(16).padStart(32, '0')

/** A sync run of three spans `ageDays` old; `failed` puts an error status on its last span. */
async function run(n: number, ageDays: number, flow: string, failed: boolean) {
  const at = new Date(Date.now() - ageDays * DAY_MS).toISOString().replace('T', ' ').replace('Z', '')
  for (const [i, name] of ['sync', 'call erp', 'call wms'].entries()) {
    const status = failed && i === 2 ? 'error' : 'ok'
    await store.command(
      sql`INSERT INTO ${table(TABLES.spans)} (timestamp, trace_id, span_id, name, service_name, status_code, flow, connector)
          VALUES (${at}, ${traceId(n)}, ${`${n}`.padStart(16, '0').slice(0, 15) + i}, ${name}, 'connector', ${status}, ${flow}, 'c1')`,
    )
  }
  await store.command(
    sql`INSERT INTO ${table(TABLES.logs)} (timestamp, observed_timestamp, trace_id, service_name, body)
        VALUES (${at}, ${at}, ${traceId(n)}, 'connector', ${failed ? 'failed' : 'done'})`,
  )
}

/** A run whose spans all succeeded but whose connector reported an exception for its trace. */
async function exceptionFor(n: number, ageDays: number) {
  const at = Date.now() - ageDays * DAY_MS
  await store.command(
    sql`INSERT INTO ${table(TABLES.exceptions)} (id, version, connector, flow, trace_id, first_seen, last_seen, status)
        VALUES (${`ex-${n}`}, 1, 'c1', 'order_to_cash', ${traceId(n)}, ${new Date(at)}, ${new Date(at)}, 'open')`,
  )
}

const tracesIn = async (name: typeof TABLES.spans | typeof TABLES.logs | typeof TABLES.traceIndex) =>
  (await store.query<{ t: string }>(sql`SELECT DISTINCT trace_id AS t FROM ${table(name)} ORDER BY t`)).map(
    (r) => Number.parseInt(r.t, 16),
  )

describe('retention by outcome', () => {
  it('keeps a failed trace past the success retention, per flow, while a successful one of the same age goes', async () => {
    // Rows written already past the success retention would meet a background TTL merge between a
    // run's spans and the error that marks it failed (which never happens to live traffic, written
    // when new): hold TTL merges until every run is in.
    const merged = [TABLES.spans, TABLES.logs, TABLES.traceIndex] as const
    for (const name of merged) await store.command(sql`SYSTEM STOP TTL MERGES ${table(name)}`)
    await run(1, 40, 'order_to_cash', false) // success, past 30 days: goes
    await run(2, 40, 'order_to_cash', true) // failed, within 90 days: kept
    await run(3, 10, 'order_to_cash', false) // success within 30 days: kept
    await run(4, 70, 'return_to_refund', true) // failed, past its flow's 60 days: goes
    await run(5, 50, 'return_to_refund', true) // failed, within its flow's 60 days: kept
    await run(6, 40, 'order_to_cash', false) // spans all ok, but an exception was reported: kept
    await exceptionFor(6, 40)
    await run(7, 95, 'order_to_cash', true) // failed, past the longest retention: goes
    expect(await tracesIn(TABLES.spans)).toEqual([1, 2, 3, 4, 5, 6, 7])

    // TTL is applied by merges; force them, as the engine would in the background.
    for (const name of merged) {
      await store.command(sql`SYSTEM START TTL MERGES ${table(name)}`)
      await store.command(sql`OPTIMIZE TABLE ${table(name)} FINAL`)
    }

    expect(await tracesIn(TABLES.spans)).toEqual([2, 3, 5, 6])
    expect(await tracesIn(TABLES.traceIndex)).toEqual([2, 3, 5, 6])
    expect(await tracesIn(TABLES.logs)).toEqual([2, 3, 5, 6])
    // Every span of a kept failed run is there, not only the span that failed.
    const [kept] = await store.query<{ n: string }>(
      sql`SELECT count() AS n FROM ${table(TABLES.spans)} WHERE trace_id = ${traceId(2)}`,
    )
    expect(Number(kept?.n)).toBe(3)
  })

  it('keeps what a success retention alone would keep when no failure retention is longer', async () => {
    const { ttlExpressions } = await import('../../store/retention.ts')
    const plain = ttlExpressions({ spans: 30, logs: 30, events: 400 })
    expect(plain[TABLES.spans]).toBe('toDateTime(timestamp) + INTERVAL 30 DAY')
    const byOutcome = ttlExpressions(retentionDays, { database: 'db' })
    expect(byOutcome[TABLES.spans]).toBe(
      'toDateTime(timestamp) + INTERVAL 90 DAY, toDateTime(timestamp) + INTERVAL 30 DAY DELETE WHERE trace_id NOT IN ' +
        "(SELECT trace_id FROM db.failed_traces WHERE time + toIntervalDay(multiIf(flow = 'return_to_refund', 60, 90)) > now())",
    )
    expect(() => ttlExpressions({ ...retentionDays, failedByFlow: { "x' OR 1": 5 } })).toThrow(
      /not a flow name/,
    )
  })
})
