import type { Duplex } from 'node:stream'
import { serve } from '@hono/node-server'
import { collectorCheck } from '../auth/middleware.ts'
import type { Config } from '../core/config.ts'
import { listenError } from '../core/errors.ts'
import { loadEventContracts } from '../core/event-contracts.ts'
import { eventEntityOf, loadFlows } from '../core/flows.ts'
import type { Logger } from '../core/logger.ts'
import { loadRedaction } from '../core/privacy.ts'
import { loadWebhooks } from '../core/webhooks.ts'
import type { Store } from '../store/client.ts'
import { ContractGate } from './contracts.ts'
import { startGrpcCollector } from './grpc.ts'
import { collectorApp } from './http.ts'
import { CollectorMetrics } from './metrics.ts'
import { IngestPipeline } from './pipeline.ts'
import { preparerContexts } from './threads/contexts.ts'
import { inlinePreparer, WorkerPreparer } from './threads/pool.ts'
import { webhookRoutes } from './webhooks/route.ts'

/** How long a sender has to send its headers (its whole request: `config.ingest.requestTimeoutMs`). */
const HEADERS_TIMEOUT_MS = 10_000

export interface RunningCollector {
  readonly httpPort: number
  readonly grpcPort: number
  readonly pipeline: IngestPipeline
  readonly contracts: ContractGate
  /** Stops listening, then writes every queued row before resolving. */
  close(): Promise<void>
}

export async function startCollector(store: Store, config: Config, log: Logger): Promise<RunningCollector> {
  const metrics = new CollectorMetrics()
  // Events of a flow configured with an entity type of its own are keyed by it, like the built-in ones.
  const entityOf = eventEntityOf(loadFlows(config.configDir))
  const preparing = {
    retentionDays: config.retentionDays.spans,
    logRetentionDays: config.retentionDays.logs,
    maxAttributeLength: config.ingest.maxAttributeLength,
    maxRequestBytes: config.ingest.maxRequestBytes,
    configDir: config.configDir,
    hashKey: config.hashKey,
  }
  const preparer =
    config.ingest.threads > 0
      ? await WorkerPreparer.start(config.ingest.threads, preparing, log)
      : inlinePreparer(preparerContexts(preparing))
  const pipeline = new IngestPipeline(
    store,
    config,
    metrics,
    log,
    preparer,
    loadRedaction(config.configDir, config.hashKey, (kind) => metrics.redactions.inc({ kind })),
  )
  const check = collectorCheck(config.auth, store, config.rateLimits.ingestPerMinute)
  const contracts = new ContractGate(loadEventContracts(config.configDir), store, metrics, log)
  // Events are checked where they are prepared, against a copy of the book kept up to date from here.
  contracts.follow((added) => preparer.addContract(added))
  contracts.start()
  const webhooks = webhookRoutes({
    config: loadWebhooks(config.configDir),
    pipeline,
    store,
    log,
    privacy: loadRedaction(config.configDir, config.hashKey, (kind) => metrics.redactions.inc({ kind })),
    entityOf,
    contracts,
  })
  const app = collectorApp(pipeline, config, log, check, webhooks, contracts)
  const { server, port: httpPort } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>(
    (resolve, reject) => {
      const s = serve(
        {
          fetch: app.fetch,
          port: config.otlpHttpPort,
          hostname: config.host,
          serverOptions: {
            maxHeaderSize: config.ingest.maxHeaderBytes,
            // A sender has this long to send its headers and body (Node gives 60 s and 300 s): a
            // stalled upload holds the bytes it sent in admission, so it must not hold them long.
            // Node looks for late requests every few seconds (connectionsCheckingInterval), not 30.
            headersTimeout: HEADERS_TIMEOUT_MS,
            requestTimeout: config.ingest.requestTimeoutMs,
            connectionsCheckingInterval: 2_000,
          },
        },
        (info) => resolve({ server: s, port: info.port }),
      )
      s.once('error', (err) =>
        reject(listenError(err, 'SIGNALBOX_OTLP_HTTP_PORT', config.host, config.otlpHttpPort)),
      )
    },
  )
  countClientErrors(server, metrics)
  const grpc = await startGrpcCollector(pipeline, config, log, check)
  log.info({ http: `${config.host}:${httpPort}`, grpc: `${config.host}:${grpc.port}` }, 'collector listening')
  return {
    httpPort,
    grpcPort: grpc.port,
    pipeline,
    contracts,
    async close() {
      // Stop accepting first; requests already in flight wait on the flush below, so the listeners
      // can only finish closing after it.
      const closed = Promise.all([
        new Promise<void>((resolve) => server.close(() => resolve())),
        grpc.close(),
      ])
      await pipeline.close()
      await contracts.close()
      if ('closeIdleConnections' in server) server.closeIdleConnections()
      await closed
    },
  }
}

/** What Node's HTTP server answers on its own, before any route: the status, the reason counted. */
const CLIENT_ERRORS: Record<string, { status: number; reason: string; text: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, reason: 'header_too_large', text: 'Request Header Fields Too Large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, reason: 'request_timeout', text: 'Request Timeout' },
}
const BAD_REQUEST = { status: 400, reason: 'malformed_http', text: 'Bad Request' }

/**
 * Refusals the HTTP server makes before any route runs (headers over the limit, a request not sent
 * in time, bytes that are not HTTP) are answered as Node would and counted like the rest. A sender
 * that hung up is not answered or counted: nothing reaches it.
 */
function countClientErrors(server: ReturnType<typeof serve>, metrics: CollectorMetrics): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy()
    const { status, reason, text } = CLIENT_ERRORS[err.code ?? ''] ?? BAD_REQUEST
    metrics.refusedRequests.inc({ signal: 'other', transport: 'http', status, reason })
    // Destroyed once written, as Node does: an ended socket stays half open, and a stalled body on it
    // would hold its admission bytes for good.
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () =>
      socket.destroy(),
    )
  })
}
