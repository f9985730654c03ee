import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { serveStatic } from '@hono/node-server/serve-static'
import { Hono } from 'hono'

const DIST = join(import.meta.dirname, '../web/dist')

/**
 * The web UI at `/`: the built single-page app (`npm run build:web`, run by `npm install`). Pages are
 * hash routes, so only `/` and the hashed assets are served.
 */
export function webRoutes(dist = DIST) {
  const app = new Hono()
  if (!existsSync(join(dist, 'index.html')))
    return app.get('/', (c) => c.text('The web UI is not built: run `npm run build:web`.', 503))
  return app
    .use('/assets/*', async (c, next) => {
      await next()
      // File names carry a content hash: they never change.
      if (c.res.ok) c.header('cache-control', 'public, max-age=31536000, immutable')
    })
    .use('/assets/*', serveStatic({ root: dist }))
    .get('/', serveStatic({ root: dist, path: 'index.html' }))
}
