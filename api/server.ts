import { serve } from '@hono/node-server'
import type { Config } from '../core/config.ts'
import { listenError } from '../core/errors.ts'
import type { Logger } from '../core/logger.ts'
import type { Store } from '../store/client.ts'
import { apiApp } from './app.ts'

export interface RunningApi {
  readonly port: number
  close(): Promise<void>
}

export async function startApi(store: Store, config: Config, log: Logger): Promise<RunningApi> {
  const app = apiApp(store, config, log)
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: config.httpPort, hostname: config.host }, (info) => {
      log.info({ address: `http://${config.host}:${info.port}` }, 'api listening')
      resolve({ port: info.port, close: () => new Promise<void>((done) => server.close(() => done())) })
    })
    server.once('error', (err) =>
      reject(listenError(err, 'SIGNALBOX_HTTP_PORT', config.host, config.httpPort)),
    )
  })
}
