import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { requestId } from 'hono/request-id'
import { secureHeaders } from 'hono/secure-headers'
import { generateSpecs } from 'hono-openapi'
import type { Registry } from 'prom-client'
import { configuredReceivers } from '../alerts/channel-status.ts'
import { SloMetrics } from '../alerts/slo-metrics.ts'
import { loadSlos, readSloDocument } from '../alerts/spec.ts'
import { authenticate } from '../auth/middleware.ts'
import { OidcLogin } from '../auth/oidc.ts'
import { loadBatches } from '../core/batches.ts'
import { loadCatalog } from '../core/catalog.ts'
import type { Config } from '../core/config.ts'
import { PayloadTooLargeError } from '../core/errors.ts'
import { loadEventContracts } from '../core/event-contracts.ts'
import { loadFlows } from '../core/flows.ts'
import { errorHandler, notFoundHandler } from '../core/http-errors.ts'
import type { Logger } from '../core/logger.ts'
import { type PayloadVault, vaultFor } from '../core/payload-vault.ts'
import { loadRedaction } from '../core/privacy.ts'
import { processRegistry } from '../core/process-metrics.ts'
import type { Store } from '../store/client.ts'
import { CallbackProber } from './connector-probes.ts'
import { type ApiEnv, grantOf, policy, visibilityFor } from './policy.ts'
import { referencePage } from './reference.ts'
import { alertRoutes } from './routes/alerts.ts'
import { batchRoutes } from './routes/batches.ts'
import { catalogRoutes } from './routes/catalog.ts'
import { connectorRoutes } from './routes/connectors.ts'
import { eventContractRoutes } from './routes/event-contracts.ts'
import { eventRoutes } from './routes/events.ts'
import { exceptionRoutes } from './routes/exceptions.ts'
import { flowRoutes } from './routes/flows.ts'
import { healthRoutes } from './routes/health.ts'
import { inventoryRoutes } from './routes/inventory.ts'
import { lifecycleRoutes } from './routes/lifecycles.ts'
import { priceRoutes } from './routes/prices.ts'
import { purchaseOrderRoutes } from './routes/purchase-orders.ts'
import { reconciliationRoutes } from './routes/reconciliation.ts'
import { replayRoutes } from './routes/replays.ts'
import { searchRoutes } from './routes/search.ts'
import { sessionRoutes } from './routes/sessions.ts'
import { sloRoutes } from './routes/slos.ts'
import { systemRoutes } from './routes/systems.ts'
import { tokenRoutes } from './routes/tokens.ts'
import { traceRoutes } from './routes/traces.ts'
import { webhookRoutes } from './routes/webhooks.ts'
import { webRoutes } from './web.ts'

/**
 * The UI's security headers: scripts only from this origin (none inline), no framing, no sniffing,
 * no referrer beyond the origin. Styles allow inline attributes: the charts set them.
 */
const securityHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
  },
  xFrameOptions: 'DENY',
  referrerPolicy: 'strict-origin-when-cross-origin',
})

/**
 * The most any api request may send: the largest body a route takes (an exception report with its
 * payload, 256 KiB) with room to spare. Larger bodies are refused (413) before they are read.
 */
export const API_MAX_BODY_BYTES = 1024 * 1024
const apiBodyLimit = bodyLimit({
  maxSize: API_MAX_BODY_BYTES,
  onError: () => {
    throw new PayloadTooLargeError(
      API_MAX_BODY_BYTES,
      `a request to the api may send at most ${API_MAX_BODY_BYTES} bytes`,
    )
  },
})

/** The api (port 8080): everything under `/api`, JSON. */
export function apiApp(
  store: Store,
  config: Pick<
    Config,
    | 'query'
    | 'configDir'
    | 'dataDir'
    | 'payloadKeys'
    | 'replay'
    | 'auth'
    | 'hashKey'
    | 'rateLimits'
    | 'oidc'
    | 'sessionHours'
    | 'publicUrl'
  >,
  log: Logger,
  vault: PayloadVault = vaultFor(config),
  prober: CallbackProber = new CallbackProber(store, config.replay, log),
  /** What `/metrics` serves: this process's metrics (the evaluator's too, when it runs here); the SLOs' are added. */
  metrics: Registry = processRegistry(),
) {
  const flows = loadFlows(config.configDir)
  const catalog = loadCatalog(config.configDir, flows)
  const slos = loadSlos(config.configDir, flows, catalog)
  new SloMetrics(store, slos, metrics, log)
  const privacy = loadRedaction(config.configDir, config.hashKey)
  const batches = loadBatches(config.configDir)
  const api = new Hono<ApiEnv>()
    .route('/', healthRoutes(store))
    .route('/', traceRoutes(store))
    .route('/', eventRoutes(store, config))
    .route('/', eventContractRoutes(store, loadEventContracts(config.configDir), config))
    .route('/', exceptionRoutes(store, privacy, vault))
    .route('/', connectorRoutes(store, prober, config.replay.callbackHosts))
    .route('/', lifecycleRoutes(store, flows, config))
    .route('/', flowRoutes(store, flows, config))
    .route('/', searchRoutes(store, flows, config, privacy))
    .route('/', inventoryRoutes(store, config))
    .route('/', priceRoutes(store, flows, config))
    .route('/', purchaseOrderRoutes(store, config))
    .route('/', systemRoutes(store, config))
    .route('/', sloRoutes(store, slos, readSloDocument(config.configDir)))
    .route('/', alertRoutes(store, configuredReceivers(config.configDir, flows)))
    .route('/', replayRoutes(store, flows, config, vault))
    .route('/', tokenRoutes(store))
    .route('/', webhookRoutes(store, config))
    .route('/', batchRoutes(store, batches, config))
    .route('/', reconciliationRoutes(store, batches))
    .route('/', catalogRoutes(store, catalog, slos, config))
  const app = new Hono<ApiEnv>()
    .use(requestId())
    .use(securityHeaders)
    .use('/api/*', apiBodyLimit)
    // Who is asking, checked against the role the route declares (its `policy`), then what they may see.
    .use(
      authenticate({
        mode: config.auth,
        store,
        log,
        grantOf,
        perMinute: config.rateLimits.apiPerMinute,
      }),
    )
    .use(visibilityFor({ store, flows, slos, config }))
    .route('/api', api)
    .route(
      '/auth',
      sessionRoutes(
        store,
        {
          oidc: config.oidc && new OidcLogin(config.oidc, config.publicUrl),
          issuer: config.oidc?.issuer,
          sessionHours: config.sessionHours,
          secure: config.publicUrl.startsWith('https:'),
          authentication: config.auth,
        },
        log,
      ),
    )
  // The OpenAPI document is generated once from the routes' own validators and descriptions.
  let spec: ReturnType<typeof generateSpecs> | undefined
  const openapi = () => {
    spec ??= generateSpecs(app, {
      documentation: {
        info: {
          title: 'Signalbox',
          version: '1',
          description:
            'Order, inventory and return lifecycles across systems; flows, traces and the system map.',
        },
      },
    })
    return spec
  }
  const reference = policy({ role: 'viewer', scope: 'none' })
  return (
    app
      .get('/api/openapi.json', reference, async (c) => c.json(await openapi()))
      // Prometheus text format. Every SLO is in it, so it is for tokens without a scope (a scraper's).
      .get('/metrics', policy({ role: 'viewer', scope: 'unscoped' }), async (c) =>
        c.body(await metrics.metrics(), 200, { 'content-type': metrics.contentType }),
      )
      .get('/api/reference', reference, async (c) => c.html(referencePage(await openapi())))
      .route('/', webRoutes())
      .notFound(notFoundHandler)
      .onError(errorHandler(log))
  )
}

export type AppType = ReturnType<typeof apiApp>
