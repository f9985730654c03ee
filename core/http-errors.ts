import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { RetryableError, SignalboxError } from './errors.ts'
import type { Logger } from './logger.ts'

/** Hono's own refusals (its validator reading a JSON body), in the product's words. */
const HONO_REFUSALS: Record<string, [code: string, message: string]> = {
  'Malformed JSON in request body': ['invalid_json', 'the body is not valid JSON'],
}

/**
 * The store's refusals of a read that asked too much (ClickHouse's error `type`): 503 saying what to
 * do, not a 500. A search over a month of events or a wide range on a busy store can reach them.
 */
const STORE_LIMITS: Record<string, [code: string, message: string, retryAfterSeconds: number]> = {
  TIMEOUT_EXCEEDED: [
    'query_timeout',
    'the read took longer than the store allows (SIGNALBOX_QUERY_TIMEOUT_SECONDS): narrow its time range or filters',
    5,
  ],
  MEMORY_LIMIT_EXCEEDED: [
    'query_too_large',
    'the read needed more memory than the store allows: narrow its time range or filters',
    5,
  ],
  TOO_MANY_SIMULTANEOUS_QUERIES: [
    'store_busy',
    'the store is running as many reads as it allows: retry shortly',
    1,
  ],
}

/**
 * The one error renderer for every Signalbox HTTP surface: `{ error: { code, message, requestId } }`.
 * Domain errors keep their status and message; anything unexpected is a 500 that says nothing of
 * the internals (the log has the details, under the same request id).
 */
export function errorHandler(log: Logger) {
  return function renderError(err: Error, c: Context) {
    const requestId = (c.get('requestId' as never) as string | undefined) ?? ''
    if (err instanceof SignalboxError) {
      if (err instanceof RetryableError) c.header('Retry-After', String(err.retryAfterSeconds))
      if (err.status >= 500) log.warn({ requestId, code: err.code }, err.message)
      const body: Record<string, unknown> = { code: err.code, message: err.message, requestId }
      if (err.details !== undefined) body.details = err.details
      return c.json({ error: body }, err.status as ContentfulStatusCode)
    }
    if (err instanceof HTTPException) {
      const [code, message] = HONO_REFUSALS[err.message] ?? ['http_error', err.message || 'bad request']
      return c.json({ error: { code, message, requestId } }, err.status)
    }
    const limit = STORE_LIMITS[(err as { type?: unknown }).type as string]
    if (limit) {
      const [code, message, retryAfter] = limit
      log.warn({ requestId, code, path: c.req.path }, err.message)
      c.header('Retry-After', String(retryAfter))
      return c.json({ error: { code, message, requestId } }, 503)
    }
    log.error({ err, requestId, path: c.req.path }, 'unhandled error')
    return c.json({ error: { code: 'internal', message: 'internal error', requestId } }, 500)
  }
}

export function notFoundHandler(c: Context) {
  const requestId = (c.get('requestId' as never) as string | undefined) ?? ''
  return c.json(
    { error: { code: 'not_found', message: `no route for ${c.req.method} ${c.req.path}`, requestId } },
    404,
  )
}
