import { serve } from '@hono/node-server'
import type { Hono } from 'hono'

export interface Served {
  readonly url: string
  close(): Promise<void>
}

/** Serves a simulated system (or a callback endpoint) on loopback; port 0 picks a free one. */
export function serveOnLoopback(app: Hono, port = 0, host = '127.0.0.1'): Promise<Served> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname: host }, (info) =>
      resolve({
        url: `http://${host}:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            if ('closeAllConnections' in server) server.closeAllConnections()
            server.close(() => done())
          }),
      }),
    )
    server.once('error', reject)
  })
}
