/**
 * What the engine spends on a span write, its background merges included, under variants of the
 * store. Each run is its own process on a fresh store (one embedded engine a process): back-to-back
 * inserts of realistic spans in Native blocks, as the collector writes them, then a wait until no
 * merge runs; the process's CPU time over the inserts and that wait, per span and per write. Runs
 * alternate between the variants; medians of `RUNS`. Last line: one JSON object.
 *
 *   npm run bench:merges                     (WRITES=50 inserts of ROWS_PER_WRITE=16384 spans, RUNS=3,
 *                                              migration 25's merge settings against the defaults)
 *   ROWS_PER_WRITE=2048 WRITES=200 npm run bench:merges   (the write size of 8 senders × 512)
 *   BENCH_VARIANTS=migrated,no-views,lz4 npm run bench:merges
 *
 * Variants: `migrated` (the store as migrated), `defaults` (migration 25's settings reset),
 * `no-views` (the materialized views on spans dropped), `lz4`
 * (the spans table's ZSTD columns compressed with LZ4), `without:<view>` (that one view dropped),
 * `trivial-views-null` and `trivial-views-mergetree` (four views that only pass the trace id on, into
 * a Null table or a one-column MergeTree: what a view costs apart from what it computes), `narrow-feed`
 * (one view passes the few columns the others read to a Null table, and the views on spans read that
 * instead: whether a view's cost is the width of the block it is handed), `cascaded-rollups` (the SLI
 * and sightings rollups fed from flow_minutes' rows instead of every span; each run prints the
 * rollups' totals, which must match `migrated`'s), `entity-no-stage` and `entity-nested` (the entity
 * index written a row an entity and trace: see ENTITY_PER_TRACE).
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SPAN_COLUMNS } from '../collector/rows.ts'
import { openStore, type Store } from '../store/client.ts'
import { migrate } from '../store/migrate.ts'
import { FEWER_MERGES, FEWER_MERGES_TABLES } from '../store/migrations/0025_fewer_merges.ts'
import { TABLES } from '../store/tables.ts'
import { median, wholeFromEnv } from './figures.ts'
import { spanViews, spanWrites } from './span-blocks.ts'

const WRITES = wholeFromEnv('WRITES', 50)
const ROWS_PER_WRITE = wholeFromEnv('ROWS_PER_WRITE', 16_384, 512)
const RUNS = wholeFromEnv('RUNS', 3)
const log = (msg: string) => process.stderr.write(`${msg}\n`)
/** A ratio as people say it: "23% less" or "7% more". */
const change = (ratio: number) =>
  `${Math.abs(Math.round((1 - ratio) * 100))}% ${ratio <= 1 ? 'less' : 'more'}`

async function trivialViews(store: Store, engine: string) {
  await store.command(`CREATE TABLE signalbox.trivial (trace_id String) ENGINE = ${engine}`)
  for (let i = 0; i < 4; i++)
    await store.command(
      `CREATE MATERIALIZED VIEW signalbox.trivial_${i}_mv TO signalbox.trivial AS SELECT trace_id FROM signalbox.spans`,
    )
}

/**
 * The views on spans re-pointed at a narrow Null table fed by one view: what the views cost when each
 * reads a block of the few columns they use instead of the whole span.
 */
async function narrowFeed(store: Store) {
  await store.command(`CREATE TABLE signalbox.span_feed (
      timestamp DateTime64(9), trace_id String, span_id String, service_name LowCardinality(String),
      duration_ns UInt64, status_code Enum8('unset' = 0, 'ok' = 1, 'error' = 2),
      kind Enum8('unspecified' = 0, 'internal' = 1, 'server' = 2, 'client' = 3, 'producer' = 4, 'consumer' = 5),
      name LowCardinality(String), connector LowCardinality(String), flow LowCardinality(String),
      system LowCardinality(String), stage LowCardinality(String), location LowCardinality(String),
      entities Array(Tuple(LowCardinality(String), String)), replay_id String, error_kind LowCardinality(String),
      call_retried LowCardinality(String), http_status LowCardinality(String), service_version LowCardinality(String)
    ) ENGINE = Null`)
  const views = await store.query<{ name: string; q: string }>({
    query: `SELECT name, create_table_query AS q FROM system.tables WHERE database = 'signalbox'
            AND name IN {names:Array(String)}`,
    query_params: { names: await spanViews(store, 'signalbox') },
  })
  await store.command(`CREATE MATERIALIZED VIEW signalbox.span_feed_mv TO signalbox.span_feed AS SELECT
      timestamp, trace_id, span_id, service_name, duration_ns, status_code, kind, name, connector, flow, system,
      stage, location, entities, attributes['signalbox.replay.id'] AS replay_id,
      attributes['signalbox.error.kind'] AS error_kind, attributes['signalbox.call.retried'] AS call_retried,
      attributes['http.response.status_code'] AS http_status, service_version
    FROM signalbox.spans`)
  for (const { name, q } of views) {
    const narrowed = q
      .replace(
        /^CREATE MATERIALIZED VIEW (\S+) TO (\S+)\s*\([\s\S]*?\)\s*AS SELECT/,
        'CREATE MATERIALIZED VIEW $1 TO $2 AS SELECT',
      )
      .replaceAll('FROM signalbox.spans', 'FROM signalbox.span_feed')
      .replaceAll("attributes['signalbox.replay.id']", 'replay_id')
      .replaceAll("attributes['signalbox.error.kind']", 'error_kind')
      .replaceAll("attributes['signalbox.call.retried']", 'call_retried')
      .replaceAll("attributes['http.response.status_code']", 'http_status')
    if (/attributes\[/.test(narrowed)) throw new Error(`${name} reads a map the feed lacks: ${narrowed}`)
    await store.command(`DROP VIEW signalbox.${name}`)
    await store.command(narrowed)
  }
}

/**
 * The per-minute SLIs and the service sightings fed from flow_minutes' new rows instead of from every
 * span: flow_minutes gains what they group by (the span's SLI scope, its service version) and what they
 * keep (good spans, first and last seen), and the two views read its aggregated rows. What two fewer
 * views reading every span would save.
 */
async function cascadedRollups(store: Store) {
  const sliScope = `multiIf(kind = 'consumer' AND startsWith(name, 'sync ') AND NOT (status_code = 'error' AND attributes['signalbox.error.kind'] = 'data'), 'connector',
      kind = 'client' AND attributes['signalbox.call.retried'] != 'true' AND NOT (status_code = 'error' AND attributes['http.response.status_code'] IN ('400', '404', '409', '410', '422')), 'system', '')`
  await store.command('DROP VIEW signalbox.sli_minutes_mv')
  await store.command('DROP VIEW signalbox.integration_sightings_spans_mv')
  await store.command('DROP VIEW signalbox.flow_minutes_mv')
  await store.command(`ALTER TABLE signalbox.flow_minutes
      ADD COLUMN sli_scope LowCardinality(String), ADD COLUMN service_version LowCardinality(String),
      ADD COLUMN sli_good SimpleAggregateFunction(sum, UInt64),
      ADD COLUMN first_seen SimpleAggregateFunction(min, DateTime64(3)),
      ADD COLUMN last_seen SimpleAggregateFunction(max, DateTime64(3)),
      MODIFY ORDER BY (flow, minute, connector, system, stage, service_name, sli_scope, service_version)`)
  await store.command(`CREATE MATERIALIZED VIEW signalbox.flow_minutes_mv TO signalbox.flow_minutes AS SELECT
      toStartOfMinute(timestamp) AS minute, flow, stage, connector, system, service_name,
      ${sliScope} AS sli_scope, service_version,
      count() AS spans, countIf(status_code = 'error') AS errors,
      quantilesState(0.5, 0.95, 0.99)(duration_ns) AS duration_ns,
      countIf(status_code != 'error') AS sli_good,
      min(toDateTime64(timestamp, 3)) AS first_seen, max(toDateTime64(timestamp, 3)) AS last_seen
    FROM signalbox.spans
    GROUP BY minute, flow, stage, connector, system, service_name, sli_scope, service_version`)
  await store.command(`CREATE MATERIALIZED VIEW signalbox.sli_minutes_mv TO signalbox.sli_minutes AS SELECT
      minute, sli_scope AS scope, if(sli_scope = 'connector', connector, system) AS key,
      sum(sli_good) AS good, sum(spans) AS total
    FROM signalbox.flow_minutes WHERE sli_scope != '' GROUP BY minute, scope, key`)
  await store.command(`CREATE MATERIALIZED VIEW signalbox.integration_sightings_spans_mv TO signalbox.integration_sightings AS SELECT
      toStartOfHour(minute) AS hour, 'service' AS kind, service_name AS name, connector,
      service_version AS version, min(first_seen) AS first_seen, max(last_seen) AS last_seen, sum(spans) AS n
    FROM signalbox.flow_minutes GROUP BY hour, name, connector, version`)
}

/** The entity index's span view replaced by `select` (into the same table). */
async function entityView(store: Store, select: string) {
  await store.command('DROP VIEW signalbox.entity_index_spans_mv')
  await store.command(
    `CREATE MATERIALIZED VIEW signalbox.entity_index_spans_mv TO signalbox.entity_index AS ${select}`,
  )
}

/** The view's per-stage aggregates as migrated, under names of their own for a query around it. */
const STAGE_AGGREGATES = `min(timestamp) AS t, argMin(name, timestamp) AS n, argMin(system, timestamp) AS sys,
  any(connector) AS c, any(flow) AS f, toString(argMax(status_code, timestamp)) AS stat, any(location) AS loc,
  argMin(span_id, timestamp) AS sid, toUInt32(count()) AS sc, toUInt32(countIf(status_code = 'error')) AS ec,
  max(attributes['signalbox.replay.id']) AS r`

/**
 * The entity index with a row an entity and trace instead of one a stage too. `entity-no-stage` drops
 * the stage from the grouping (the most fewer rows could save); `entity-nested` keeps each stage's
 * row in an array of the trace's row, grouped twice (what keeping what lifecycles read would cost).
 */
const ENTITY_PER_TRACE = {
  'entity-no-stage': (store: Store) =>
    entityView(
      store,
      `SELECT entity_type, entity_id, t AS time, 'span' AS kind, n AS name, sys AS system, c AS connector,
        f AS flow, st AS stage, stat AS status, loc AS location, trace_id, sid AS span_id, sc AS span_count,
        ec AS error_count, r AS replay_id
      FROM (SELECT e.1 AS entity_type, e.2 AS entity_id, trace_id, any(stage) AS st, ${STAGE_AGGREGATES}
        FROM signalbox.spans ARRAY JOIN entities AS e GROUP BY entity_type, entity_id, trace_id)`,
    ),
  'entity-nested': async (store: Store) => {
    await store.command(`ALTER TABLE signalbox.entity_index ADD COLUMN stages
      Array(Tuple(String, DateTime64(9), String, String, String, String, UInt32, UInt32))`)
    await entityView(
      store,
      `SELECT entity_type, entity_id, min(t) AS time, 'span' AS kind, argMin(n, t) AS name,
        argMin(sys, t) AS system, any(c) AS connector, any(f) AS flow, any(loc) AS location, trace_id,
        argMin(sid, t) AS span_id, sum(sc) AS span_count, sum(ec) AS error_count, max(r) AS replay_id,
        groupArray((st, t, n, sys, stat, sid, sc, ec)) AS stages
      FROM (SELECT e.1 AS entity_type, e.2 AS entity_id, trace_id, stage AS st, ${STAGE_AGGREGATES}
        FROM signalbox.spans ARRAY JOIN entities AS e GROUP BY entity_type, entity_id, trace_id, stage)
      GROUP BY entity_type, entity_id, trace_id`,
    )
  },
}

/** What each variant changes on a freshly migrated store. */
const VARIANTS = {
  migrated: async () => {},
  defaults: async (store: Store) => {
    for (const t of FEWER_MERGES_TABLES)
      await store.command(`ALTER TABLE signalbox.${t} RESET SETTING ${Object.keys(FEWER_MERGES).join(', ')}`)
  },
  'no-views': async (store: Store) => {
    for (const name of await spanViews(store, 'signalbox')) await store.command(`DROP VIEW signalbox.${name}`)
  },
  // What a view costs whatever it computes: four that pass each span's trace id on, into a table
  // that keeps nothing, or into a one-column MergeTree (its rows sorted, compressed, merged).
  'trivial-views-null': (store: Store) => trivialViews(store, 'Null'),
  'trivial-views-mergetree': (store: Store) => trivialViews(store, 'MergeTree ORDER BY trace_id'),
  'narrow-feed': narrowFeed,
  'cascaded-rollups': cascadedRollups,
  ...ENTITY_PER_TRACE,
  lz4: async (store: Store) => {
    const columns = await store.query<{ name: string; type: string }>({
      query: `SELECT name, type FROM system.columns WHERE database = 'signalbox' AND table = 'spans'
              AND compression_codec LIKE '%ZSTD%'`,
      query_params: {},
    })
    const modify = columns.map((c) => `MODIFY COLUMN ${c.name} ${c.type} CODEC(LZ4)`).join(', ')
    await store.command(`ALTER TABLE signalbox.spans ${modify}`)
  },
} as const
/** `without:<view>`: the store with that one materialized view dropped. */
const WITHOUT = 'without:'
type Variant = keyof typeof VARIANTS | `${typeof WITHOUT}${string}`
const isVariant = (v: string): v is Variant =>
  Object.hasOwn(VARIANTS, v) || (v.startsWith(WITHOUT) && /^[a-z_]+$/.test(v.slice(WITHOUT.length)))
async function apply(variant: Variant, store: Store) {
  if (variant.startsWith(WITHOUT)) await store.command(`DROP VIEW signalbox.${variant.slice(WITHOUT.length)}`)
  else await VARIANTS[variant as keyof typeof VARIANTS](store)
}

interface RunResult {
  readonly cpuMicrosPerSpan: number
  readonly cpuMsPerWrite: number
  readonly spansPerSec: number
  readonly partsAfter: number
  readonly spanBytesAfter: number
  /** What the rollups on spans hold (SLI good / total, service sightings): variants must agree. */
  readonly rollups: string
}

/** One run in this process. */
async function measure(variant: Variant): Promise<RunResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-bench-merges-'))
  const store = await openStore({
    dataDir,
    clickhouse: { database: 'signalbox' },
    query: { timeoutSeconds: 600 },
  })
  try {
    await migrate(store, { spans: 30, logs: 30, events: 400 })
    await apply(variant, store)
    const writes = spanWrites(WRITES, ROWS_PER_WRITE)
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
    const [parts] = await store.query<{ n: string; bytes: string; rows: string }>({
      query: `SELECT count() AS n, sum(bytes_on_disk) AS bytes, sum(rows) AS rows FROM system.parts
              WHERE active AND database = 'signalbox' AND table = 'spans'`,
      query_params: {},
    })
    const [rollups] = await store.query<{ good: string; total: string; seen: string }>({
      query: `SELECT (SELECT sum(good) FROM signalbox.sli_minutes) AS good, (SELECT sum(total) FROM signalbox.sli_minutes) AS total,
              (SELECT sum(n) FROM signalbox.integration_sightings WHERE kind = 'service') AS seen`,
      query_params: {},
    })
    const total = WRITES * ROWS_PER_WRITE
    const cpuMicros = used.user + used.system
    return {
      cpuMicrosPerSpan: Math.round((cpuMicros / total) * 10) / 10,
      cpuMsPerWrite: Math.round(cpuMicros / 1000 / WRITES),
      spansPerSec: Math.round((total * 1000) / insertMs),
      partsAfter: Number(parts?.n),
      spanBytesAfter: Number((Number(parts?.bytes) / Number(parts?.rows)).toFixed(1)),
      rollups: `SLI ${rollups?.good} / ${rollups?.total}, sightings ${rollups?.seen}`,
    }
  } finally {
    await store.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

const only = process.env.BENCH_MERGES_VARIANT
if (only !== undefined) {
  if (!isVariant(only)) throw new Error(`unknown variant ${only}`)
  process.stdout.write(`${JSON.stringify(await measure(only))}\n`)
} else {
  const variants = (process.env.BENCH_VARIANTS ?? 'defaults,migrated').split(',')
  const unknown = variants.filter((v) => !isVariant(v))
  if (unknown.length > 0)
    throw new Error(`unknown variant ${unknown.join(', ')}: one of ${Object.keys(VARIANTS).join(', ')}`)
  const results = new Map<string, RunResult[]>(variants.map((v) => [v, []]))
  log(`${WRITES} writes of ${ROWS_PER_WRITE} spans, ${RUNS} runs a variant, alternating`)
  for (let r = 0; r < RUNS; r++)
    for (const variant of variants) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', import.meta.filename], {
        env: { ...process.env, BENCH_MERGES_VARIANT: variant },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      const result = JSON.parse(out.trim().split('\n').pop() as string) as RunResult
      results.get(variant)?.push(result)
      log(
        `  ${variant.padEnd(22)} ${result.cpuMicrosPerSpan} µs CPU a span (${result.cpuMsPerWrite} ms a write), ` +
          `${result.spansPerSec} spans/s inserted, ${result.partsAfter} spans parts after, ${result.spanBytesAfter} bytes a span; ` +
          result.rollups,
      )
    }
  const summary = Object.fromEntries(
    [...results].map(([v, runs]) => [
      v,
      {
        cpuMicrosPerSpan: median(runs.map((x) => x.cpuMicrosPerSpan)),
        cpuMsPerWrite: median(runs.map((x) => x.cpuMsPerWrite)),
        spansPerSec: median(runs.map((x) => x.spansPerSec)),
        partsAfter: median(runs.map((x) => x.partsAfter)),
        spanBytesAfter: median(runs.map((x) => x.spanBytesAfter)),
        rollups: runs[0]?.rollups,
      },
    ]),
  ) as Record<string, RunResult>
  const first = variants[0] as string
  const base = summary[first]?.cpuMicrosPerSpan ?? 1
  log(
    `medians: ${variants
      .map((v, i) => {
        const us = summary[v]?.cpuMicrosPerSpan ?? 0
        return `${v} ${us} µs a span${i === 0 ? '' : ` (${change(us / base)} than ${first})`}`
      })
      .join(', ')}`,
  )
  process.stdout.write(
    `${JSON.stringify({ writes: WRITES, rowsPerWrite: ROWS_PER_WRITE, runs: RUNS, ...summary })}\n`,
  )
}
