import { afterAll } from 'vitest'
import { startClickHouseHttp } from './clickhouse-http.ts'

/**
 * Setup for the `server` test project: the store, collector and api suites run once more with
 * Signalbox in server mode (`CLICKHOUSE_URL`), against the ClickHouse HTTP test double
 * (test/support/clickhouse-http.ts) started in this test file's process. `startSignalbox` reads
 * SIGNALBOX_TEST_CLICKHOUSE_URL and gives each data dir a database of its own on it.
 */
const server = await startClickHouseHttp()
process.env.SIGNALBOX_TEST_CLICKHOUSE_URL = server.url
afterAll(() => server.close())
