import { startClickHouseHttp } from './clickhouse-http.ts'

/**
 * The ClickHouse HTTP test double as a process of its own, for tests that run Signalbox's parts as
 * separate processes (test/e2e/split-processes.test.ts). Prints `{"url": …}` once listening; stops on
 * SIGTERM. A test double, never shipped.
 */
const server = await startClickHouseHttp({ path: process.argv[2] })
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`)
process.once('SIGTERM', () => void server.close().then(() => process.exit(0)))
