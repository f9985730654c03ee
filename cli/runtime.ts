import { startApi } from '../api/server.ts'
import { startCollector } from '../collector/index.ts'
import { type Config, loadConfig } from '../core/config.ts'
import { createLogger, type Logger } from '../core/logger.ts'
import { openStore, type Store } from '../store/client.ts'
import { migrate } from '../store/migrate.ts'

export type Part = 'collector' | 'api'

export interface Running {
  readonly config: Config
  readonly store: Store
  readonly log: Logger
  readonly collector?: Awaited<ReturnType<typeof startCollector>>
  readonly api?: Awaited<ReturnType<typeof startApi>>
  stop(): Promise<void>
}

/**
 * Opens the store, brings the schema up to date and starts the requested parts in this process.
 * Stopping closes listeners first, then flushes every queued row, then closes the store.
 */
export async function run(
  parts: readonly Part[],
  config: Config = loadConfig(),
  log = createLogger(config.logLevel),
): Promise<Running> {
  const store = await openStore(config)
  await migrate(store, config.retentionDays, log)
  log.info(
    { mode: store.mode, version: await store.engineVersion(), database: config.clickhouse.database },
    'store ready',
  )
  const collector = parts.includes('collector') ? await startCollector(store, config, log) : undefined
  const api = parts.includes('api') ? await startApi(store, config, log) : undefined
  let stopping: Promise<void> | undefined
  return {
    config,
    store,
    log,
    collector,
    api,
    stop() {
      stopping ??= (async () => {
        await Promise.all([collector?.close(), api?.close()])
        await store.close()
        log.info('stopped')
      })()
      return stopping
    },
  }
}

/** SIGINT/SIGTERM: stop cleanly (queued rows are written); a second signal exits at once. */
export function stopOnSignals(running: Running): void {
  let signalled = false
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(130)
    signalled = true
    running.log.info({ signal }, 'shutting down: flushing queued rows')
    running.stop().then(
      () => process.exit(0),
      (err) => {
        running.log.error({ err }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}
