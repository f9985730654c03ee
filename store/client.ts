import { mkdirSync, rmSync } from 'node:fs'
import { unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import {
  type ClickHouseClient,
  type ClickHouseClientConfigOptions,
  ClickHouseLogLevel,
  createClient,
} from '@clickhouse/client'
import { createChdbConnection } from 'chdb/connection'
import type { Config } from '../core/config.ts'
import type { Target } from './ddl.ts'
import { ReadLanes } from './read-lanes.ts'
import type { BoundQuery } from './sql.ts'
import type { TableName } from './tables.ts'

export type StoreMode = 'embedded' | 'server'

export interface QueryOptions {
  /** Seconds before ClickHouse cancels the query; every read carries one. */
  readonly timeoutSeconds?: number
}

export interface InsertOptions {
  /**
   * On a cluster, resolve only once the rows are on their shards (`distributed_foreground_insert`),
   * not once the Distributed table has queued them: for rows other rows must never be read without.
   * One node (the embedded engine, a single server) has no Distributed tables and nothing to wait for.
   */
  readonly reachShards?: boolean
}

export interface CommandOptions {
  /**
   * A statement that may run for minutes, such as a migration's copy of a large table or a flow's
   * state built from nothing (store/queries/flow-state.ts): in server mode it goes with the server's
   * progress headers and a longer silence allowed (`longCommands`), rather than being cut off by the
   * request timeout while the server still runs it.
   */
  readonly long?: boolean
}

/** The options of a long statement (`CommandOptions.long`). */
export const LONG_STATEMENT: CommandOptions = { long: true }

/** The only handle on ClickHouse. Same SQL in both modes; only construction and the insert path differ. */
export interface Store {
  readonly mode: StoreMode
  readonly target: Target
  query<Row>(q: BoundQuery, options?: QueryOptions): Promise<Row[]>
  command(statement: string | BoundQuery, options?: CommandOptions): Promise<void>
  /**
   * Inserts `JSONCompactEachRow` text, given as chunks of whole newline-terminated rows; resolves once
   * ClickHouse has written them.
   */
  insertRows(
    table: TableName,
    columns: readonly string[],
    chunks: readonly string[],
    options?: InsertOptions,
  ): Promise<void>
  /** Inserts blocks of ClickHouse's Native format (collector/native), one after another; resolves once written. */
  insertNative(table: TableName, columns: readonly string[], blocks: readonly Buffer[]): Promise<void>
  engineVersion(): Promise<string>
  close(): Promise<void>
}

const DEFAULT_QUERY_TIMEOUT_SECONDS = 10
/** Reads a server is given at once by this process (the engine's own limit is 100 across clients). */
const SERVER_READ_SLOTS = 8
/**
 * Reads one api caller may have waiting or running, unless told (SIGNALBOX_READS_PER_CALLER): a
 * dashboard's page asks a few dozen at once; past this, a caller is asking faster than the store
 * answers and is told to slow down (429).
 */
const DEFAULT_READS_PER_CALLER = 64

/** What every read runs with, besides its time limit. */
const READ_SETTINGS = {
  // 64-bit integers as strings in both modes: nanosecond times exceed 2^53.
  output_format_json_quote_64bit_integers: 1,
  // The engine JIT-compiles an expression, aggregate or sort on its third use, inside that query: one
  // read in a few paid 100–400 ms more (bench:query's runs in order showed it). These reads are
  // short; measured without JIT they run as fast at the median and lose the spikes.
  compile_expressions: 0,
  compile_aggregate_expressions: 0,
  compile_sort_description: 0,
} as const

/**
 * What every insert runs with. The views on spans run side by side instead of one after another: a
 * write is one insert at a time, and since migration 25 the engine's merges leave CPU to spare beside
 * it (`BENCH_POINTS=8x512,64x512 npm run bench:ingest` with and without it through a local switch,
 * four interleaved pairs: 8 × 512 11,900 against 10,400 spans/s, 64 × 512 32,200 against 30,800,
 * medians; docs/benchmarks.md).
 */
const INSERT_SETTINGS = { parallel_view_processing: 1 } as const

/** A server's reads: as every read, and cancelled when the request for them is (`abort_signal`). */
const SERVER_READ_SETTINGS = { ...READ_SETTINGS, cancel_http_readonly_queries_on_client_close: 1 } as const

/**
 * On a cluster, an INSERT returns once its rows are on their shards, not once the Distributed table
 * has queued them on this node. Every statement runs with it: a migration's rebuild (`rebuildTable`)
 * copies a table through the Distributed tables, swaps the copy in and drops the old one straight
 * after, so rows still queued would go to the old table or be dropped with the queue; and the control
 * plane's rows (a replay, an alert, a token) are read back at once. DDL ignores it. Of the collector's
 * inserts, only those asked to `reachShards` wait.
 */
const ON_SHARDS = { distributed_foreground_insert: 1 } as const

export interface StoreOptions extends Pick<Config, 'dataDir' | 'clickhouse'> {
  readonly query?: Partial<Pick<Config['query'], 'timeoutSeconds' | 'readsPerCaller'>>
  /** A one-off command tells its own failures: the client's log of them (with stacks) is turned off. */
  readonly quiet?: boolean
}

const DEFAULT_REQUEST_TIMEOUT_SECONDS = 60

/**
 * A migration drops what it has copied elsewhere or retired, whatever its size: the engine's guard
 * against dropping large tables (`max_table_size_to_drop`, 50 GB) would otherwise stop an upgrade at
 * the first table that large, and again at every start. Server mode's long statements carry it; the
 * embedded engine, which only Signalbox's own statements reach, has it for its session.
 */
const ANY_SIZE_DROPS = { max_table_size_to_drop: '0' } as const

/**
 * Server mode's long statements (`CommandOptions.long`). The server answers an HTTP request when its
 * statement is done, and a copy of a large table can take longer than any request timeout; cut off,
 * the statement runs on in the server while the migration fails. So a long statement asks for the
 * server's progress headers (`X-ClickHouse-Progress`), sent as the statement runs, at half the request
 * timeout: the socket hears from the server well within its timeout, and so does a proxy or load
 * balancer whose idle timeout is as long. A statement that waits without progress (a `DROP ... SYNC`
 * behind a running query, `ON CLUSTER` DDL waiting for its hosts) is allowed ten request timeouts of
 * silence. The headers pile up in one response, each a couple of hundred bytes: a MiB of them lasts
 * well over a day at the default interval, where Node's own limit (16 KiB) would cut a copy off after
 * a few minutes. They also drop what they must (`ANY_SIZE_DROPS`).
 */
function longCommands(requestTimeoutMs: number) {
  return {
    request_timeout: 10 * requestTimeoutMs,
    max_response_headers_size: 1024 * 1024,
    clickhouse_settings: {
      ...ANY_SIZE_DROPS,
      send_progress_in_http_headers: 1,
      http_headers_progress_interval_ms: String(Math.max(1, Math.floor(requestTimeoutMs / 2))),
    },
  } as const
}

export async function openStore(config: StoreOptions): Promise<Store> {
  const { url, user, password, database, cluster } = config.clickhouse
  const target: Target = { database, cluster }
  const defaultTimeout = config.query?.timeoutSeconds ?? DEFAULT_QUERY_TIMEOUT_SECONDS
  const log = config.quiet ? { level: ClickHouseLogLevel.OFF } : undefined

  let client: ClickHouseClient
  /** Server mode: the client for long statements (longCommands); embedded mode has no request timeout. */
  let longClient: ClickHouseClient | undefined
  /** Embedded mode: where insert payloads are staged for the engine to read (see insertRows). */
  let stagingDir = ''
  let staged = 0
  if (url) {
    // The database may not exist yet: connect without it, create it, then reconnect bound to it.
    const bootstrap = createClient({ url, username: user, password, log })
    await bootstrap.command({
      query: `CREATE DATABASE IF NOT EXISTS ${database}${cluster ? ` ON CLUSTER ${cluster}` : ''}`,
    })
    await bootstrap.close()
    const requestTimeoutMs =
      1000 * (config.clickhouse.requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_SECONDS)
    const options = { url, username: user, password, database, log }
    client = createClient({ ...options, request_timeout: requestTimeoutMs })
    longClient = createClient({ ...options, ...longCommands(requestTimeoutMs) })
  } else {
    const path = join(config.dataDir, 'clickhouse')
    mkdirSync(path, { recursive: true })
    const connection = createChdbConnection({ path })
    // chdb bundles its own copy of the client-common types; the runtime contract is the same.
    client = createClient({
      connection: connection as unknown as ClickHouseClientConfigOptions['connection'],
      log,
    })
    await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` })
    // Payloads of inserts that never ran (a crash between staging and insert) were never acknowledged.
    // Cleared only now that this process holds the engine: a second process on the same data dir
    // (a CLI command while `start` runs) fails above and must not take the running one's files.
    stagingDir = join(config.dataDir, 'staging')
    rmSync(stagingDir, { recursive: true, force: true })
    mkdirSync(stagingDir, { recursive: true })
    // The embedded engine is one session for the process: selecting the database once binds every
    // query, and settings made once hold for every query. Per-query settings would each be a `SET`
    // statement before the query there (about 0.3 ms apiece, measured), unlike HTTP parameters.
    await client.command({ query: `USE ${database}` })
    await client.command({
      query: `SET ${Object.entries({ ...READ_SETTINGS, ...INSERT_SETTINGS, ...ANY_SIZE_DROPS })
        .map(([k, v]) => `${k} = ${v}`)
        .join(', ')}`,
    })
  }

  /**
   * Rows already serialised in `format`, given as chunks written one after another. Server mode
   * streams them as the request body (`exec` sends them as they are; `insert` would encode them
   * again). Embedded mode stages them in a file the engine reads: measured on 20,000 realistic spans,
   * about half the time of the same rows inline after the statement (212 against 390 ms), which the
   * embedded connection joins into one query string; and a binary block can only go this way, as the
   * connection decodes inline data as UTF-8 text. The file's name is ours (a counter), never input.
   */
  async function insertFormatted(
    table: TableName,
    columns: readonly string[],
    format: 'JSONCompactEachRow' | 'Native',
    chunks: readonly (string | Buffer)[],
    options: InsertOptions = {},
  ): Promise<void> {
    const insert = `INSERT INTO ${table} (${columns.join(', ')})`
    if (url) {
      const result = await client.exec({
        query: `${insert} FORMAT ${format}`,
        values: Readable.from(chunks, { objectMode: false }),
        clickhouse_settings:
          options.reachShards && target.cluster ? { ...INSERT_SETTINGS, ...ON_SHARDS } : INSERT_SETTINGS,
      })
      result.stream.resume()
      return
    }
    const file = join(stagingDir, `${process.pid}-${staged++}.${format}`)
    await writeFile(file, chunks)
    try {
      const quoted = file.replace(/['\\]/g, '\\$&') // the data dir is the user's, and may hold a quote
      await client.command({ query: `${insert} FROM INFILE '${quoted}' FORMAT ${format}` })
    } finally {
      await unlink(file).catch(() => {})
    }
  }

  const commandSettings = url && cluster ? ON_SHARDS : undefined
  // The embedded engine runs one bound read at a time whatever is asked; a server, several.
  const lanes = new ReadLanes(
    url ? SERVER_READ_SLOTS : 1,
    config.query?.readsPerCaller ?? DEFAULT_READS_PER_CALLER,
  )
  const store: Store = {
    mode: url ? 'server' : 'embedded',
    target,
    query<Row>(q: BoundQuery, options: QueryOptions = {}) {
      const timeoutSeconds = options.timeoutSeconds ?? defaultTimeout
      // A read waits for its turn (store/read-lanes.ts) no longer than it may run.
      return lanes.run(async (signal) => {
        const result = await client.query({
          query: q.query,
          query_params: q.query_params as Record<string, unknown>,
          format: 'JSONEachRow',
          clickhouse_settings: { max_execution_time: timeoutSeconds, ...(url ? SERVER_READ_SETTINGS : {}) },
          // A server's read is cancelled when its request goes away before the answer starts (the
          // client stops listening once it has the headers); the embedded engine cannot stop one
          // midway (its library only stops waiting), so there it runs out within its time limit.
          abort_signal: url ? signal : undefined,
        })
        return result.json<Row>()
      }, 1000 * timeoutSeconds)
    },
    async command(statement, options = {}) {
      const { query, query_params } = typeof statement === 'string' ? { query: statement } : statement
      await (options.long && longClient ? longClient : client).command({
        query,
        query_params: query_params as Record<string, unknown> | undefined,
        clickhouse_settings: commandSettings,
      })
    },
    insertRows: (table, columns, chunks, options) =>
      insertFormatted(table, columns, 'JSONCompactEachRow', chunks, options),
    insertNative: (table, columns, blocks) => insertFormatted(table, columns, 'Native', blocks),
    async engineVersion() {
      const [row] = await store.query<{ v: string }>({ query: 'SELECT version() AS v', query_params: {} })
      return row?.v ?? 'unknown'
    },
    async close() {
      await Promise.all([client.close(), longClient?.close()])
    },
  }
  return store
}
