import { Hono } from 'hono'
import type { Store } from '../../store/client.ts'

export function healthRoutes(store: Store, startedAt = new Date()) {
  return new Hono().get('/health', async (c) => {
    try {
      const engineVersion = await store.engineVersion()
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
