import { startAlerts } from '../alerts/index.ts'
import { startApi } from '../api/server.ts'
import { startCollector } from '../collector/index.ts'
import { startDemo } from '../connectors/demo.ts'
import { type Config, loadConfig } from '../core/config.ts'
import { createLogger, type Logger } from '../core/logger.ts'
import { openStore, type Store } from '../store/client.ts'
import { migrate } from '../store/migrate.ts'

export type Part = 'collector' | 'api' | 'alerts' | 'demo'

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
  const stopAlerts = parts.includes('alerts') ? startAlerts(store, config, log) : undefined
  // The demo estate talks to Signalbox over HTTP like any outside connector would.
  const demo =
    parts.includes('demo') && collector && api
      ? await startDemo({
          collectorUrl: `http://${loopback(config.host)}:${collector.httpPort}`,
          apiUrl: `http://${loopback(config.host)}:${api.port}`,
          ordersPerMinute: config.demo.ordersPerMinute,
          // The demo's connectors verify the callbacks Signalbox signs for replays.
          callbackSecrets: [config.replay.callbackSecret],
        })
      : undefined
  if (demo)
    log.info(
      { ordersPerMinute: config.demo.ordersPerMinute, erp: demo.estate.urls.erp },
      'demo estate running (turn it off with --no-demo)',
    )
  let stopping: Promise<void> | undefined
  return {
    config,
    store,
    log,
    collector,
    api,
    stop() {
      stopping ??= (async () => {
        await demo?.close()
        await stopAlerts?.()
        await Promise.all([collector?.close(), api?.close()])
        await store.close()
        log.info('stopped')
      })()
      return stopping
    },
  }
}

/** Where local clients reach a listener bound to `host` (a wildcard bind is reached on loopback). */
function loopback(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1'
  return host.includes(':') ? `[${host}]` : host
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
