import { context, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions'
import type { MiddlewareHandler } from 'hono'
import { INTEGRATION_ATTRIBUTES } from '../../core/vocabulary.ts'

const propagator = new W3CTraceContextPropagator()

/**
 * A SERVER span for every request a simulated system answers, under its own service name and
 * continuing the caller's trace (W3C `traceparent`), as the real systems' own instrumentation would:
 * it is what draws the edges of the system map.
 *
 * Made here rather than by `@opentelemetry/instrumentation-http`: the demo runs the whole estate in one
 * process, and that instrumentation patches `http` for the process, under one global provider and so
 * one `service.name`. Each simulated system needs its own, so each keeps a provider of its own
 * (connectors/sdk/telemetry.ts `serviceTelemetry`). A real system runs alone and uses the instrumentation.
 */
export function serverSpans(tracer: Tracer, system: string): MiddlewareHandler {
  return async function traceRequest(c, next) {
    const parent = propagator.extract(context.active(), c.req.header(), {
      get: (h, k) => h[k],
      keys: (h) => Object.keys(h),
    })
    const span = tracer.startSpan(
      `${c.req.method}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: c.req.method,
          [ATTR_URL_PATH]: c.req.path,
          [INTEGRATION_ATTRIBUTES.system]: system,
        },
      },
      parent,
    )
    try {
      await next()
      // The route template, not the path: span names must stay low-cardinality.
      const route = [...c.req.matchedRoutes].reverse().find((r) => r.method !== 'ALL')?.path
      span.updateName(`${c.req.method} ${route ?? c.req.path}`)
      if (route) span.setAttribute(ATTR_HTTP_ROUTE, route)
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, c.res.status)
      if (c.res.status >= 500)
        span.setStatus({ code: SpanStatusCode.ERROR, message: `answered ${c.res.status}` })
    } finally {
      span.end()
    }
  }
}
