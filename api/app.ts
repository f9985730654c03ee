import { Hono } from 'hono'
import { requestId } from 'hono/request-id'
import type { Config } from '../core/config.ts'
import { loadFlows } from '../core/flows.ts'
import { errorHandler, notFoundHandler } from '../core/http-errors.ts'
import type { Logger } from '../core/logger.ts'
import type { Store } from '../store/client.ts'
import { connectorRoutes } from './routes/connectors.ts'
import { eventRoutes } from './routes/events.ts'
import { exceptionRoutes } from './routes/exceptions.ts'
import { flowRoutes } from './routes/flows.ts'
import { healthRoutes } from './routes/health.ts'
import { inventoryRoutes } from './routes/inventory.ts'
import { lifecycleRoutes } from './routes/lifecycles.ts'
import { searchRoutes } from './routes/search.ts'
import { traceRoutes } from './routes/traces.ts'

/** The api (port 8080): everything under `/api`, JSON. */
export function apiApp(store: Store, config: Pick<Config, 'query' | 'configDir'>, log: Logger) {
  const flows = loadFlows(config.configDir)
  const api = new Hono()
    .route('/', healthRoutes(store))
    .route('/', traceRoutes(store))
    .route('/', eventRoutes(store, config))
    .route('/', exceptionRoutes(store))
    .route('/', connectorRoutes(store))
    .route('/', lifecycleRoutes(store, flows, config))
    .route('/', flowRoutes(store, flows, config))
    .route('/', searchRoutes(store, config))
    .route('/', inventoryRoutes(store, config))
  return new Hono().use(requestId()).route('/api', api).notFound(notFoundHandler).onError(errorHandler(log))
}

export type AppType = ReturnType<typeof apiApp>
