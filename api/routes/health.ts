import { Hono } from 'hono'
import { describeRoute } from 'hono-openapi'
import { readingShared } from '../../core/reading.ts'
import type { Store } from '../../store/client.ts'
import { type ApiEnv, policy } from '../policy.ts'

export function healthRoutes(store: Store, startedAt = new Date()) {
  const describe = describeRoute({
    tags: ['health'],
    summary: 'Whether the api and its store answer',
    responses: { 200: { description: 'Healthy' }, 503: { description: 'The store does not answer' } },
  })
  return new Hono<ApiEnv>().get('/health', describe, policy({ role: 'public', scope: 'none' }), async (c) => {
    try {
      // A caller of its own: a probe is not refused because the browser at its address is busy.
      const engineVersion = await readingShared('health', () => store.engineVersion())
      return c.json({
        status: 'ok',
        store: {
          mode: store.mode,
          engineVersion,
          database: store.target.database,
          cluster: store.target.cluster ?? null,
        },
        startedAt: startedAt.toISOString(),
      })
    } catch {
      return c.json(
        {
          status: 'degraded',
          store: { mode: store.mode, error: 'the store does not answer' },
          startedAt: startedAt.toISOString(),
        },
        503,
      )
    }
  })
}
