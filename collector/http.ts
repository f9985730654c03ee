import type { HttpBindings } from '@hono/node-server'
import { type Context, Hono } from 'hono'
import { requestId } from 'hono/request-id'
import type { CollectorCheck } from '../auth/middleware.ts'
import type { Config } from '../core/config.ts'
import { SignalboxError, UnsupportedMediaTypeError } from '../core/errors.ts'
import { errorHandler, notFoundHandler } from '../core/http-errors.ts'
import type { Logger } from '../core/logger.ts'
import { mediaType, readBody } from './body.ts'
import { cloudEventsMode } from './cloudevents.ts'
import type { ContractGate } from './contracts.ts'
import { jsonResponse, protobufResponse } from './otlp/response.ts'
import type { IngestPipeline, IngestResult } from './pipeline.ts'

const PROTOBUF = 'application/x-protobuf'
const JSON_TYPE = 'application/json'
const OTLP_TYPES = [PROTOBUF, JSON_TYPE]
const CLOUDEVENTS_TYPES = ['application/cloudevents+json', 'application/cloudevents-batch+json']
const SIGNAL_OF_PATH: Record<string, string> = {
  '/v1/traces': 'spans',
  '/v1/logs': 'logs',
  '/v1/events': 'events',
}

/** One OTLP signal over HTTP: where a body goes in each encoding, what a refusal counts. */
interface OtlpSignal {
  readonly ingest: (
    body: Buffer,
    encoding: 'protobuf' | 'json',
    sources: readonly string[] | undefined,
    queued: (workMs?: number) => void,
  ) => Promise<IngestResult>
  readonly rejectedField: 'rejectedSpans' | 'rejectedLogRecords'
}

/** The headers the CloudEvents HTTP binding reads (the content type, `ce-*`): not the credentials. */
const cloudEventsHeaders = (headers: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).filter(([k]) => k === 'content-type' || k.startsWith('ce-')))

/** The collector's HTTP surface (port 4318): OTLP/HTTP traces and logs, CloudEvents, and `/metrics`. */
export function collectorApp(
  pipeline: IngestPipeline,
  config: Pick<Config, 'ingest'>,
  log: Logger,
  check: CollectorCheck = async () => ({}),
  /** `POST /v1/webhooks/:source` (collector/webhooks/route.ts): signed by the platform, no ingestion key. */
  webhooks?: Hono,
  /** Checks event data against the event types' contracts (collector/contracts.ts). */
  contracts?: ContractGate,
) {
  const limit = config.ingest.maxBodyBytes
  const renderError = errorHandler(log)
  /** Every refusal is counted by signal, status and the product's reason code (`/metrics`). */
  const countRefusal = (c: Context, status: number, reason: string) =>
    pipeline.metrics.refusedRequests.inc({
      signal: SIGNAL_OF_PATH[c.req.path] ?? 'other',
      transport: 'http',
      status,
      reason,
    })
  /** The sources each request's ingestion key may write for (absent: any). */
  const sourcesOf = new WeakMap<Request, readonly string[]>()

  /**
   * Reads a body and hands it to `work` (decode, then queue) inside the request's admission: refused
   * before reading when the collector could not acknowledge it in time, and while reading when the
   * bodies in hand would pass their bound. `work` gives the place back through `queued` once its rows
   * are queued, not when they are written (told how long decoding took); a request that fails before
   * gives it back here.
   */
  async function admitted<T>(
    c: Context,
    work: (body: Buffer, queued: (workMs?: number) => void) => Promise<T>,
  ): Promise<T> {
    const place = pipeline.admit()
    try {
      const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming
      return await work(await readBody(c.req.raw, limit, incoming, place.charge), place.leave)
    } finally {
      place.leave() // once only: a no-op when `work` has given the place back
    }
  }

  /** Answers in the request's own encoding, as OTLP/HTTP requires. */
  const otlpHandler = (signal: OtlpSignal) => async (c: Context) => {
    const type = mediaType(c.req.raw)
    if (!OTLP_TYPES.includes(type)) throw new UnsupportedMediaTypeError(type, OTLP_TYPES)
    const protobuf = type === PROTOBUF
    const result = await admitted(c, (body, queued) =>
      signal.ingest(body, protobuf ? 'protobuf' : 'json', sourcesOf.get(c.req.raw), queued),
    )
    if (protobuf) return c.body(new Uint8Array(protobufResponse(result)), 200, { 'content-type': PROTOBUF })
    return c.json(jsonResponse(result, signal.rejectedField))
  }

  return (
    new Hono()
      .use(requestId())
      // Before the key check: a platform's webhook is authenticated by its signature instead.
      .route('/v1/webhooks', webhooks ?? new Hono())
      // Ingestion keys write; reading /metrics takes a viewer token (when authentication is on).
      .use(async (c, next) => {
        const { refused, sources } = await check(
          c.req.header('authorization'),
          c.req.path === '/metrics' ? 'viewer' : 'ingest',
        )
        if (!refused) {
          if (sources) sourcesOf.set(c.req.raw, sources)
          return next()
        }
        const code = { 401: 'unauthenticated', 403: 'forbidden', 429: 'rate_limited' }[refused.status]
        countRefusal(c, refused.status, code)
        if (refused.retryAfterSeconds) c.header('retry-after', String(refused.retryAfterSeconds))
        return c.json({ error: { code, message: refused.message } }, refused.status)
      })
      .post(
        '/v1/traces',
        otlpHandler({
          ingest: (body, encoding, sources, queued) =>
            pipeline.spans(
              { body, encoding, sources, nowMs: Date.now() },
              encoding === 'protobuf' ? 'http/protobuf' : 'http/json',
              queued,
            ),
          rejectedField: 'rejectedSpans',
        }),
      )
      .post(
        '/v1/logs',
        otlpHandler({
          ingest: (body, encoding, sources, queued) =>
            pipeline.logs(
              { body, encoding, sources, nowMs: Date.now() },
              encoding === 'protobuf' ? 'http/protobuf' : 'http/json',
              queued,
            ),
          rejectedField: 'rejectedLogRecords',
        }),
      )
      .post('/v1/events', async (c) => {
        const type = mediaType(c.req.raw)
        // Refused before the body is read; parseCloudEvents decides the mode the same way.
        if (!cloudEventsMode(type, c.req.header('ce-specversion') !== undefined)) {
          throw new UnsupportedMediaTypeError(type, [
            ...CLOUDEVENTS_TYPES,
            'any type with ce-* headers (binary mode)',
          ])
        }
        const result = await admitted(c, async (body, queued) => {
          // Parsed, scope- and contract-checked, redacted and encoded on a decoding thread: this thread
          // never walks the body, however large or hostile its values (collector/events/prepare.ts).
          // A sender's key is checked there before its events' contracts, so nothing is recorded for it.
          const prepared = await pipeline.prepareEvents({
            body,
            headers: cloudEventsHeaders(c.req.header()),
            receivedAtMs: Date.now(),
            sources: sourcesOf.get(c.req.raw),
          })
          if (!contracts) return pipeline.preparedEvents(prepared, queued)
          const warned = await contracts.check(prepared.events)
          const written = await pipeline.preparedEvents(prepared, queued)
          await contracts.written(warned, written.duplicateItems)
          return written
        })
        return c.json({ accepted: result.accepted, duplicates: result.duplicates ?? 0 })
      })
      // Ingest routes take POST only: anything else is 405 naming it, not a 404 that hides the route.
      .on(['GET', 'PUT', 'PATCH', 'DELETE'], ['/v1/traces', '/v1/logs', '/v1/events'], (c) => {
        countRefusal(c, 405, 'method_not_allowed')
        return c.json(
          { error: { code: 'method_not_allowed', message: `${c.req.path} takes POST, not ${c.req.method}` } },
          405,
          { allow: 'POST' },
        )
      })
      .get('/metrics', async (c) => {
        const registry = pipeline.metrics.registry
        return c.body(await registry.metrics(), 200, { 'content-type': registry.contentType })
      })
      .notFound((c) => {
        countRefusal(c, 404, 'not_found')
        return notFoundHandler(c)
      })
      .onError((err, c) => {
        const res = renderError(err, c)
        countRefusal(c, res.status, err instanceof SignalboxError ? err.code : 'internal')
        return res
      })
  )
}
