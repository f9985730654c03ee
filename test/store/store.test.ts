import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join as pathJoin } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore, type Store } from '../../store/client.ts'
import { migrate } from '../../store/migrate.ts'
import { MIGRATIONS } from '../../store/migrations/index.ts'
import { boundChunks, boundStringBytes, join, sql, table, typed } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'

const dataDir = mkdtempSync(pathJoin(tmpdir(), 'signalbox-store-'))
const retention = { spans: 30, logs: 30, events: 400 }
let store: Store
beforeAll(async () => {
  store = await openStore({
    dataDir,
    // In the server-mode run, the same store over the ClickHouse HTTP test double.
    clickhouse: { database: 'signalbox_test', url: process.env.SIGNALBOX_TEST_CLICKHOUSE_URL },
    query: { timeoutSeconds: 5 },
  })
})
afterAll(async () => {
  await store.close()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('migrations', () => {
  it('apply once, record themselves, and apply again as a no-op', async () => {
    expect(await migrate(store, retention)).toEqual(MIGRATIONS.map((m) => m.id))
    expect(await migrate(store, retention)).toEqual([])
    const recorded = await store.query<{ id: number; name: string }>(
      sql`SELECT id, name FROM ${table(TABLES.migrations)} FINAL ORDER BY id`,
    )
    expect(recorded.map((r) => r.name)).toEqual([
      'spans',
      'logs',
      'business_events',
      'entity_index',
      'control_plane',
      'entity_progress',
      'flow_analytics',
      'alerting',
      'replays',
      'tokens',
      'entity_links',
      'token_scopes',
      'flow_state',
      'token_last_used',
      'sli_minutes',
      'spans_by_trace',
      'span_keys',
      'connector_probes',
      'unmapped_webhooks',
      'event_contracts',
      'failed_traces',
      'integration_sightings',
      'flow_tallies',
      'span_keys_small_blocks',
      'fewer_merges',
      'span_resources',
      'span_keys_in_trace_index',
      'drop_span_keys',
      'connector_removal',
    ])
  })

  it('re-run every statement without error even when the record is lost (idempotent DDL)', async () => {
    await store.command(sql`TRUNCATE TABLE ${table(TABLES.migrations)}`)
    expect(await migrate(store, retention)).toEqual(MIGRATIONS.map((m) => m.id))
  })

  it('change retention on an existing table at the next start', async () => {
    await migrate(store, { ...retention, spans: 7 })
    const [row] = await store.query<{ ddl: string }>(
      sql`SELECT create_table_query AS ddl FROM system.tables WHERE database = currentDatabase() AND name = ${TABLES.spans}`,
    )
    expect(row?.ddl).toContain('toIntervalDay(7)')
  })

  it('merge the raw tables and the entity index less often, and leave the trace index and the rollups alone', async () => {
    const ddl = new Map(
      (
        await store.query<{ name: string; ddl: string }>(
          sql`SELECT name, create_table_query AS ddl FROM system.tables WHERE database = currentDatabase()`,
        )
      ).map((r) => [r.name, r.ddl]),
    )
    for (const name of [TABLES.spans, TABLES.logs, TABLES.entityIndex])
      expect(ddl.get(name), name).toContain('merge_selector_base = 20')
    // The trace index went back to the defaults with the span keys (migration 27).
    for (const name of [TABLES.traceIndex, TABLES.flowMinutes, TABLES.sliMinutes])
      expect(ddl.get(name), name).not.toContain('merge_selector_base')
  })

  it('rebuild spans for a new sort key keeping every row, and the views keep indexing', async () => {
    const spanRows = (ids: string[]) =>
      sql`INSERT INTO ${table(TABLES.spans)} (timestamp, trace_id, span_id, name, kind, service_name, duration_ns)
        SELECT now64(9) - toIntervalSecond(number), ${ids}[number % 2 + 1], hex(rand64()), 'sync x', 'consumer', 'svc', 1000
        FROM numbers(10)`
    const count = async (t: typeof TABLES.spans | typeof TABLES.traceIndex) =>
      Number((await store.query<{ n: string }>(sql`SELECT count() AS n FROM ${table(t)}`))[0]?.n)
    await store.command(spanRows(['a1'.padEnd(32, '0'), 'a2'.padEnd(32, '0')]))
    const before = await count(TABLES.spans)
    // Migration 16 run again, as after an interruption: the rebuilt table is copied onto a new one.
    const rebuild = MIGRATIONS.find((m) => m.name === 'spans_by_trace')
    for (const statement of rebuild?.statements(store.target, retention) ?? []) await store.command(statement)
    expect(await count(TABLES.spans)).toBe(before)
    const [row] = await store.query<{ key: string; copies: string }>(sql`
      SELECT sorting_key AS key, (SELECT count() FROM system.tables WHERE database = currentDatabase() AND name LIKE '%_m16') AS copies
      FROM system.tables WHERE database = currentDatabase() AND name = ${TABLES.spans}`)
    expect(row).toEqual({ key: 'toStartOfHour(timestamp), trace_id', copies: '0' })
    // Views follow the table's name: new spans still reach the trace index.
    const traces = await count(TABLES.traceIndex)
    await store.command(spanRows(['b1'.padEnd(32, '0'), 'b2'.padEnd(32, '0')]))
    expect(await count(TABLES.spans)).toBe(before + 10)
    expect(await count(TABLES.traceIndex)).toBeGreaterThan(traces)
  })

  it('rebuild the trace index with span keys: old traces keep their rows and get their last day of keys once, new spans reach it', async () => {
    const index = async (traceId: string) =>
      (
        await store.query<{ rows: string; spans: string; keys: string }>(sql`
          SELECT count() AS rows, sum(span_count) AS spans, sum(length(span_keys)) AS keys
          FROM ${table(TABLES.traceIndex)} WHERE trace_id = ${traceId}`)
      )[0]
    // Six spans a few ms apart, clear of midnight: one day, so one row a trace.
    const at = Math.max(Date.now(), Math.floor(Date.now() / 86_400_000) * 86_400_000 + 10_000)
    const spans = (traceId: string) =>
      sql`INSERT INTO ${table(TABLES.spans)} (timestamp, trace_id, span_id, name, kind, service_name, duration_ns)
        SELECT fromUnixTimestamp64Milli(${at} - number), ${traceId}, hex(rand64()), 'sync x', 'consumer', 'svc', 1000
        FROM numbers(6)`
    // A trace stored before the upgrade: its index row as the old view wrote it, with no keys.
    const before = 'c1'.padEnd(32, '0')
    await store.command(spans(before))
    await store.command(
      sql`ALTER TABLE ${table(TABLES.traceIndex)} DELETE WHERE trace_id = ${before} SETTINGS mutations_sync = 1`,
    )
    await store.command(sql`
      INSERT INTO ${table(TABLES.traceIndex)} (trace_id, start, end, span_count)
      SELECT trace_id, min(timestamp), max(timestamp), count() FROM ${table(TABLES.spans)} WHERE trace_id = ${before} GROUP BY trace_id`)
    // And, as before the upgrade, no row holding keys: the backfill's guard lets it run.
    await store.command(
      sql`ALTER TABLE ${table(TABLES.traceIndex)} DELETE WHERE notEmpty(span_keys) SETTINGS mutations_sync = 1`,
    )
    // Migration 27, then again as after an interruption: the keys come once, the counts stay.
    const rebuild = MIGRATIONS.find((m) => m.name === 'span_keys_in_trace_index')
    for (let run = 0; run < 2; run++)
      for (const statement of rebuild?.statements(store.target, retention) ?? [])
        await store.command(statement)
    // Its row as it was, and a row a span carrying the keys.
    expect(await index(before)).toEqual({ rows: '7', spans: '6', keys: '6' })
    const [settings] = await store.query<{
      create: string
      key: string
      copies: string
      keyView: string
      keyTable: string
    }>(sql`
      SELECT create_table_query AS create, sorting_key AS key,
        (SELECT count() FROM system.tables WHERE database = currentDatabase() AND name LIKE '%_m27') AS copies,
        (SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'span_keys_mv') AS keyView,
        (SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'span_keys') AS keyTable
      FROM system.tables WHERE database = currentDatabase() AND name = ${TABLES.traceIndex}`)
    expect(settings?.create).toContain('index_granularity = 256')
    expect(settings?.create).toContain('max_compress_block_size = 8192')
    expect(settings?.create).not.toContain('merge_selector_base')
    expect(settings?.key).toBe('trace_id')
    // The key table is no longer fed, and migration 28 dropped it.
    expect([settings?.copies, settings?.keyView, settings?.keyTable]).toEqual(['0', '0', '0'])
    // The view follows the table's name: new spans' keys reach the new table, in one row a trace and day.
    const after = 'c2'.padEnd(32, '0')
    await store.command(spans(after))
    expect(await index(after)).toEqual({ rows: '1', spans: '6', keys: '6' })
  })
})

describe('the sql tag', () => {
  it('binds hostile strings as values, never as SQL', async () => {
    const hostile = [
      "'; DROP TABLE spans; --",
      '\\',
      '{p0:String}',
      'x'.repeat(10_000),
      'ünï\u0000cødé 🛒',
      '"quoted"',
    ]
    for (const value of hostile) {
      const [row] = await store.query<{ v: string }>(sql`SELECT ${value} AS v`)
      expect(row?.v).toBe(value)
    }
    const [tables] = await store.query<{ n: string }>(
      sql`SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = 'spans'`,
    )
    expect(Number(tables?.n)).toBe(1)
  })

  it('splits a long list to bind into queries that each fit a server URL, every value bound once', async () => {
    const values = Array.from({ length: 30_000 }, (_, i) =>
      i % 7 === 0 ? `ünï'cødé-${i}` : i % 11 === 0 ? `${"'".repeat(1000)}!()~\\${i}` : `id-${i}`,
    )
    const chunks = [...boundChunks(values, boundStringBytes)]
    expect(chunks.length).toBeGreaterThan(1)
    expect(chunks.flat()).toEqual(values)
    for (const chunk of chunks) {
      // What the client puts in the URL for this chunk, well under a server's 1 MiB.
      const url = new URLSearchParams({
        param_p0: `[${chunk.map((v) => `'${v.replaceAll("'", "\\'")}'`).join(',')}]`,
      })
      expect(url.toString().length).toBeLessThan(512 * 1024)
      const [row] = await store.query<{ n: string }>(sql`SELECT length(${chunk}) AS n`)
      expect(Number(row?.n)).toBe(chunk.length)
    }
    // One value larger than a chunk still goes, alone.
    expect([...boundChunks(['x'.repeat(300_000), 'y'], boundStringBytes)]).toHaveLength(2)
  })

  it('binds arrays, numbers, booleans, dates and explicitly typed values', async () => {
    const [row] = await store.query<Record<string, unknown>>(
      sql`SELECT ${['a', "b'c"]} AS arr, ${42} AS n, ${1.5} AS f, ${true} AS b, ${new Date('2026-11-26T10:00:00.250Z')} AS d, ${typed('1795687200123456789', 'Int64')} AS big`,
    )
    expect(row).toEqual({
      arr: ['a', "b'c"],
      n: '42',
      f: 1.5,
      b: true,
      d: '2026-11-26 10:00:00.250',
      big: '1795687200123456789',
    })
  })

  it('composes fragments with renumbered parameters', async () => {
    const conditions = [sql`number > ${2}`, sql`number < ${6}`, sql`toString(number) != ${'4'}`]
    const q = sql`SELECT groupArray(number) AS ns FROM numbers(10) WHERE ${join(conditions, ' AND ')}`
    expect(q.query).toBe(
      'SELECT groupArray(number) AS ns FROM numbers(10) WHERE number > {p0:Int64} AND number < {p1:Int64} AND toString(number) != {p2:String}',
    )
    const [row] = await store.query<{ ns: string[] }>(q)
    expect(row?.ns.map(Number)).toEqual([3, 5])
  })

  it('accepts only known table names as identifiers', () => {
    expect(() => table('spans; DROP TABLE x' as never)).toThrow(/unknown table/)
  })

  it('carries a time limit on every query', async () => {
    await expect(
      store.query(sql`SELECT sleepEachRow(1) FROM numbers(3)`, { timeoutSeconds: 1 }),
    ).rejects.toThrow(/TIMEOUT|timeout|Timeout|time limit/)
  })

  it('runs the views of an insert side by side', async () => {
    // A view's SELECT runs with the insert's settings, so a view can report them.
    await store.command('CREATE TABLE IF NOT EXISTS insert_probe (x UInt8) ENGINE = Null')
    await store.command(
      'CREATE TABLE IF NOT EXISTS insert_probe_seen (v String) ENGINE = MergeTree ORDER BY v',
    )
    await store.command(
      "CREATE MATERIALIZED VIEW IF NOT EXISTS insert_probe_mv TO insert_probe_seen AS SELECT toString(getSetting('parallel_view_processing')) AS v FROM insert_probe",
    )
    try {
      await store.insertRows('insert_probe' as never, ['x'], ['[1]\n'])
      const seen = await store.query<{ v: string }>({
        query: 'SELECT v FROM insert_probe_seen',
        query_params: {},
      })
      expect(seen.map((r) => r.v)).toEqual(['true'])
    } finally {
      for (const t of ['insert_probe_mv', 'insert_probe', 'insert_probe_seen'])
        await store.command(`DROP TABLE IF EXISTS ${t}`)
    }
  })
})
