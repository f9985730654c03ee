import { randomBytes } from 'node:crypto'
import { startAlerts } from '../alerts/index.ts'
import { startApi } from '../api/server.ts'
import { createToken, revokeToken } from '../auth/tokens.ts'
import { startCollector } from '../collector/index.ts'
import { startDemo } from '../connectors/demo.ts'
import { type Config, loadConfig } from '../core/config.ts'
import { ConfigError } from '../core/errors.ts'
import { createLogger, type Logger } from '../core/logger.ts'
import { vaultFor } from '../core/payload-vault.ts'
import { processRegistry } from '../core/process-metrics.ts'
import { openStore, type Store } from '../store/client.ts'
import { migrate } from '../store/migrate.ts'
import { type AdminSocket, serveAdminSocket } from './admin/socket.ts'
import { serveMetrics } from './metrics-server.ts'

export type Part = 'collector' | 'api' | 'alerts' | 'demo'

/** The `carrier` webhook source's secret (config/webhooks.yaml), shared by the collector and the demo's carrier. */
const DEMO_CARRIER_SECRET_ENV = 'SIGNALBOX_WEBHOOK_SECRET_CARRIER'

export interface Running {
  readonly config: Config
  readonly store: Store
  readonly log: Logger
  readonly collector?: Awaited<ReturnType<typeof startCollector>>
  readonly api?: Awaited<ReturnType<typeof startApi>>
  /** Where an evaluator without the api serves `/metrics` (SIGNALBOX_ALERTS_METRICS_PORT). */
  readonly alertsMetricsPort?: number
  /** Embedded mode: where `signalbox token …` and `payload-keys …` reach this process (cli/admin/). */
  readonly adminSocket?: AdminSocket
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
  requireAuthOffLoopback(config, log)
  const store = await openStore(config)
  await migrate(store, config.retentionDays, log)
  log.info(
    { mode: store.mode, version: await store.engineVersion(), database: config.clickhouse.database },
    'store ready',
  )
  // One vault for the api and the admin socket: a key rotation through the socket is taken at once.
  const vault = parts.includes('api') || store.mode === 'embedded' ? vaultFor(config) : undefined
  // The embedded engine locks its data dir, so the CLI's admin commands go through this process. A
  // ClickHouse server has no such lock: there the CLI opens the store itself.
  const adminSocket =
    store.mode === 'embedded' && vault ? await serveAdminSocket({ store, config, vault }, log) : undefined
  // The demo's carrier signs its tracking webhooks: with no secret configured for the `carrier` source,
  // one for this process, set before the collector reads its webhook sources.
  if (parts.includes('demo') && !process.env[DEMO_CARRIER_SECRET_ENV])
    process.env[DEMO_CARRIER_SECRET_ENV] = randomBytes(32).toString('base64')
  const collector = parts.includes('collector') ? await startCollector(store, config, log) : undefined
  // One registry for this process's /metrics: the api's when it runs here, else the evaluator's own.
  const metrics = parts.includes('api') || parts.includes('alerts') ? processRegistry() : undefined
  const api = parts.includes('api') ? await startApi(store, config, log, vault, metrics) : undefined
  const stopAlerts = parts.includes('alerts') ? startAlerts(store, config, log, metrics) : undefined
  // Metrics are not worth stopping evaluation for: a second evaluator on one host finds the port
  // taken, says so and evaluates without its own /metrics.
  const alertsMetrics =
    metrics && parts.includes('alerts') && !api
      ? await serveMetrics(metrics, store, config, log).catch((err: Error) => {
          log.warn({ err: err.message }, 'evaluator metrics not served; set SIGNALBOX_ALERTS_METRICS_PORT')
          return undefined
        })
      : undefined
  // The demo estate talks to Signalbox over HTTP like any outside connector would, with its own
  // ingestion key when Signalbox requires one (revoked again at stop).
  const demoKey =
    parts.includes('demo') && config.auth === 'tokens'
      ? await createToken(store, {
          name: 'demo estate',
          kind: 'ingest',
          role: 'viewer',
          createdBy: 'signalbox start',
        })
      : undefined
  const demo =
    parts.includes('demo') && collector && api
      ? await startDemo({
          collectorUrl: `http://${loopback(config.host)}:${collector.httpPort}`,
          apiUrl: `http://${loopback(config.host)}:${api.port}`,
          ordersPerMinute: config.demo.ordersPerMinute,
          // The demo's connectors verify the callbacks Signalbox signs for replays.
          callbackSecrets: [config.replay.callbackSecret],
          ingestKey: demoKey?.token,
          carrierWebhookSecret: process.env[DEMO_CARRIER_SECRET_ENV],
        })
      : undefined
  if (demo)
    log.info(
      {
        ordersPerMinute: config.demo.ordersPerMinute,
        run: demo.estate.run,
        configDir: config.configDir,
        erp: demo.estate.urls.erp,
      },
      'demo estate running (turn it off with --no-demo)',
    )
  let stopping: Promise<void> | undefined
  return {
    config,
    store,
    log,
    collector,
    api,
    alertsMetricsPort: alertsMetrics?.port,
    adminSocket,
    stop() {
      stopping ??= (async () => {
        await adminSocket?.close()
        await demo?.close()
        await stopAlerts?.()
        if (demoKey) await revokeToken(store, demoKey.id)
        await Promise.all([collector?.close(), api?.close(), alertsMetrics?.close()])
        await store.close()
        log.info('stopped')
      })()
      return stopping
    },
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/

/**
 * Without authentication Signalbox serves loopback only: anyone who can reach it could read orders
 * and replay them. Binding anywhere else needs SIGNALBOX_AUTH=tokens.
 */
function requireAuthOffLoopback(config: Config, log: Logger): void {
  if (config.auth !== 'none') return
  if (!LOOPBACK.test(config.host))
    throw new ConfigError([
      `SIGNALBOX_HOST=${config.host}: refusing to listen beyond loopback without authentication. Set SIGNALBOX_AUTH=tokens ` +
        '(create an admin token first: `signalbox token create --role admin --name you`), or bind to 127.0.0.1',
    ])
  log.warn(
    { host: config.host },
    'no authentication configured (SIGNALBOX_AUTH=none): listening on loopback only; set SIGNALBOX_AUTH=tokens to serve others',
  )
}

/** Where local clients reach a listener bound to `host` (a wildcard bind is reached on loopback). */
export function loopback(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1'
  return host.includes(':') ? `[${host}]` : host
}

/** SIGINT/SIGTERM: stop cleanly (queued rows are written); a second signal exits at once. */
export function stopOnSignals(running: Running): void {
  // Runs until signalled. Background loops unref their timers (so an embedding test ends when it is
  // done); a part with no listener of its own (`signalbox alerts`) would otherwise exit after its
  // first tick. This handle holds the process open until the signal.
  const keepAlive = setInterval(() => {}, 2 ** 30)
  let signalled = false
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(130)
    signalled = true
    running.log.info({ signal }, 'shutting down: flushing queued rows')
    clearInterval(keepAlive)
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
