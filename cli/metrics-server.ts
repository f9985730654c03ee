import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import type { Registry } from 'prom-client'
import { collectorCheck } from '../auth/middleware.ts'
import type { Config } from '../core/config.ts'
import { listenError } from '../core/errors.ts'
import type { Logger } from '../core/logger.ts'
import type { Store } from '../store/client.ts'

/**
 * `/metrics` for a process without the api (`signalbox alerts`): the evaluator's metrics and the
 * process's own. Reading it takes a viewer token when authentication is on, as at the collector.
 */
export async function serveMetrics(
  registry: Registry,
  store: Store,
  config: Pick<Config, 'host' | 'alertsMetricsPort' | 'auth'>,
  log: Logger,
): Promise<{ port: number; close(): Promise<void> }> {
  const check = collectorCheck(config.auth, store)
  const app = new Hono().get('/metrics', async (c) => {
    const { refused } = await check(c.req.header('authorization'), 'viewer')
    if (refused)
      return c.json({ error: { code: 'unauthenticated', message: refused.message } }, refused.status)
    return c.body(await registry.metrics(), 200, { 'content-type': registry.contentType })
  })
  return new Promise((resolve, reject) => {
    const server = serve(
      { fetch: app.fetch, port: config.alertsMetricsPort, hostname: config.host },
      (info) => {
        log.info({ address: `http://${config.host}:${info.port}/metrics` }, 'evaluator metrics listening')
        resolve({ port: info.port, close: () => new Promise<void>((done) => server.close(() => done())) })
      },
    )
    server.once('error', (err) =>
      reject(listenError(err, 'SIGNALBOX_ALERTS_METRICS_PORT', config.host, config.alertsMetricsPort)),
    )
  })
}
