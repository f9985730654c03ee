import { type Attributes, type HrTime, type Link, SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'

/**
 * A finished span as the OTel SDK hands it to exporters, built directly so tests and benchmarks can
 * encode any span (including invalid ones) with the official OTLP serializers.
 */
export interface SpanSpec {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind?: SpanKind
  startMs: number
  durationMs: number
  attributes?: Attributes
  resource?: Resource
  error?: string
  events?: Array<{ name: string; offsetMs: number; attributes?: Attributes }>
  links?: Link[]
}

const hr = (ms: number): HrTime => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)]

const defaultResource = resourceFromAttributes({ 'service.name': 'test-service' })
// One scope object: the serializer groups spans into ScopeSpans by scope identity.
const scope = { name: 'signalbox-test', version: '1.0.0' }

export function readableSpan(s: SpanSpec): ReadableSpan {
  return {
    name: s.name,
    kind: s.kind ?? SpanKind.INTERNAL,
    spanContext: () => ({ traceId: s.traceId, spanId: s.spanId, traceFlags: 1 }),
    parentSpanContext: s.parentSpanId
      ? { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: 1 }
      : undefined,
    startTime: hr(s.startMs),
    endTime: hr(s.startMs + s.durationMs),
    duration: hr(s.durationMs),
    status: s.error ? { code: SpanStatusCode.ERROR, message: s.error } : { code: SpanStatusCode.OK },
    attributes: s.attributes ?? {},
    links: s.links ?? [],
    events: (s.events ?? []).map((e) => ({
      name: e.name,
      time: hr(s.startMs + e.offsetMs),
      attributes: e.attributes,
    })),
    ended: true,
    resource: s.resource ?? defaultResource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  }
}
