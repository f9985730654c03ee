import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { type ClickHouseClient, type ClickHouseClientConfigOptions, createClient } from '@clickhouse/client'
import { type ChdbConnection, createChdbConnection } from 'chdb/connection'
import type { Config } from '../core/config.ts'
import type { Target } from './ddl.ts'
import type { BoundQuery } from './sql.ts'
import type { TableName } from './tables.ts'

export type StoreMode = 'embedded' | 'server'

export interface QueryOptions {
  /** Seconds before ClickHouse cancels the query; every read carries one. */
  readonly timeoutSeconds?: number
}

/** The only handle on ClickHouse. Same SQL in both modes; only construction and the insert path differ. */
export interface Store {
  readonly mode: StoreMode
  readonly target: Target
  query<Row>(q: BoundQuery, options?: QueryOptions): Promise<Row[]>
  command(statement: string | BoundQuery): Promise<void>
  /** Inserts newline-delimited `JSONCompactEachRow` rows; resolves once ClickHouse has written them. */
  insertRows(table: TableName, columns: readonly string[], body: Buffer): Promise<void>
  engineVersion(): Promise<string>
  close(): Promise<void>
}

const DEFAULT_QUERY_TIMEOUT_SECONDS = 10

export async function openStore(config: Pick<Config, 'dataDir' | 'clickhouse' | 'query'>): Promise<Store> {
  const { url, user, password, database, cluster } = config.clickhouse
  const target: Target = { database, cluster }
  const defaultTimeout = config.query?.timeoutSeconds ?? DEFAULT_QUERY_TIMEOUT_SECONDS

  let client: ClickHouseClient
  let chdb: ChdbConnection | undefined
  if (url) {
    // The database may not exist yet: connect without it, create it, then reconnect bound to it.
    const bootstrap = createClient({ url, username: user, password })
    await bootstrap.command({
      query: `CREATE DATABASE IF NOT EXISTS ${database}${cluster ? ` ON CLUSTER ${cluster}` : ''}`,
    })
    await bootstrap.close()
    client = createClient({ url, username: user, password, database, request_timeout: 60_000 })
  } else {
    const path = join(config.dataDir, 'clickhouse')
    mkdirSync(path, { recursive: true })
    chdb = createChdbConnection({ path })
    // chdb bundles its own copy of the client-common types; the runtime contract is the same.
    client = createClient({ connection: chdb as unknown as ClickHouseClientConfigOptions['connection'] })
    await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` })
    // The embedded engine is one session for the process: selecting the database once binds every query.
    await client.command({ query: `USE ${database}` })
  }

  const store: Store = {
    mode: url ? 'server' : 'embedded',
    target,
    async query<Row>(q: BoundQuery, options: QueryOptions = {}) {
      const result = await client.query({
        query: q.query,
        query_params: q.query_params as Record<string, unknown>,
        format: 'JSONEachRow',
        clickhouse_settings: {
          max_execution_time: options.timeoutSeconds ?? defaultTimeout,
          // 64-bit integers as strings in both modes: nanosecond times exceed 2^53.
          output_format_json_quote_64bit_integers: 1,
        },
      })
      return result.json<Row>()
    },
    async command(statement) {
      if (typeof statement === 'string') await client.command({ query: statement })
      else
        await client.command({
          query: statement.query,
          query_params: statement.query_params as Record<string, unknown>,
        })
    },
    async insertRows(table, columns, body) {
      if (chdb) {
        // Zero-copy hand-off of the bytes to the engine's parser (the generic path re-joins them as a JS string).
        await chdb.chdb.rawInsert({
          table: `${database}.${table}`,
          columns,
          format: 'JSONCompactEachRow',
          values: body,
        })
      } else {
        await client.insert({
          table,
          columns: columns as [string, ...string[]],
          format: 'JSONCompactEachRow',
          values: Readable.from([body]),
        })
      }
    },
    async engineVersion() {
      const [row] = await store.query<{ v: string }>({ query: 'SELECT version() AS v', query_params: {} })
      return row?.v ?? 'unknown'
    },
    async close() {
      await client.close()
    },
  }
  return store
}
