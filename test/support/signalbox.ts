import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Running, run } from '../../cli/runtime.ts'
import { loadConfig } from '../../core/config.ts'
import { createLogger, type Logger } from '../../core/logger.ts'
import type { BoundQuery } from '../../store/sql.ts'

export interface TestSignalbox extends Running {
  readonly collectorUrl: string
  readonly grpcUrl: string
  readonly apiUrl: string
  /** Reads the store directly, to check what was (or was not) written. */
  rows<T = Record<string, unknown>>(q: BoundQuery): Promise<T[]>
  count(table: string): Promise<number>
  close(): Promise<void>
}

/**
 * In the `server` test project (test/support/server-mode.ts), the store is a ClickHouse server's HTTP
 * interface, and each data dir (a fresh one, or the same one again for a restart) has a database of
 * its own there, as each has an engine of its own in embedded mode.
 */
export function serverMode(dataDir: string): Record<string, string> {
  const url = process.env.SIGNALBOX_TEST_CLICKHOUSE_URL
  if (!url) return {}
  const database = `signalbox_${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`
  return { CLICKHOUSE_URL: url, CLICKHOUSE_DATABASE: database }
}

/**
 * The all-in-one on a fresh embedded store in a temp dir, on free ports. `env` overrides settings
 * the way a user would, through environment variables.
 */
export async function startSignalbox(
  env: Record<string, string> = {},
  log: Logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
): Promise<TestSignalbox> {
  // The demo's carrier signs its tracking webhooks with this (connectors/demo.ts), as `signalbox start`
  // arranges: the collector reads webhook secrets from the environment at start.
  process.env.SIGNALBOX_WEBHOOK_SECRET_CARRIER ??= 'carrier-test-secret'
  const dataDir = env.SIGNALBOX_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'signalbox-test-'))
  const config = loadConfig(
    {
      ...serverMode(dataDir),
      SIGNALBOX_HTTP_PORT: '0',
      SIGNALBOX_OTLP_HTTP_PORT: '0',
      SIGNALBOX_OTLP_GRPC_PORT: '0',
      SIGNALBOX_BATCH_MAX_WAIT_MS: '20',
      SIGNALBOX_CONFIG_DIR: join(import.meta.dirname, '../../config'),
      ...env,
      SIGNALBOX_DATA_DIR: dataDir,
    },
    { readDotEnv: false },
  )
  const running = await run(['collector', 'api'], config, log)
  const rows = <T>(q: BoundQuery) => running.store.query<T>(q)
  return {
    ...running,
    collectorUrl: `http://127.0.0.1:${running.collector?.httpPort}`,
    grpcUrl: `http://127.0.0.1:${running.collector?.grpcPort}`,
    apiUrl: `http://127.0.0.1:${running.api?.port}`,
    rows,
    async count(tableName: string) {
      // Test-only: table names here are literals from the test, never input.
      const [r] = await running.store.query<{ n: string }>({
        query: `SELECT count() AS n FROM ${tableName}`,
        query_params: {},
      })
      return Number(r?.n ?? 0)
    },
    async close() {
      await running.stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
