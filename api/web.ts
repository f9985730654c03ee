import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { serveStatic } from '@hono/node-server/serve-static'
import { Hono } from 'hono'
import { type ApiEnv, policy } from './policy.ts'

const DIST = join(import.meta.dirname, '../web/dist')

/**
 * The web UI at `/`: the built single-page app (`npm run build:web`, run by `npm install`). Pages are
 * hash routes, so only `/` and the hashed assets are served.
 */
export function webRoutes(dist = DIST) {
  // The page and its scripts hold no data: the api answers each read with the caller's token.
  const open = policy({ role: 'public', scope: 'none' })
  const app = new Hono<ApiEnv>().use('/assets/*', async (c, next) => {
    await next()
    // File names carry a content hash: they never change.
    if (c.res.ok) c.header('cache-control', 'public, max-age=31536000, immutable')
  })
  // The same routes whether or not the UI is built, so every app declares the same policies.
  if (!existsSync(join(dist, 'index.html')))
    return app
      .get('/assets/*', open, (c) => c.notFound())
      .get('/', open, (c) => c.text('The web UI is not built: run `npm run build:web`.', 503))
  return app
    .get('/assets/*', open, serveStatic({ root: dist }))
    .get('/', open, serveStatic({ root: dist, path: 'index.html' }))
}
