/**
 * What the collector keeps of an OTLP span or log record, decoded from protobuf or JSON alike.
 * Attribute values are flattened to strings (arrays and maps as JSON), the storage shape of
 * `Map(LowCardinality(String), String)`.
 */
export type Attributes = Record<string, string>

export interface Resource {
  readonly attributes: Attributes
  readonly serviceName: string
}

export interface Scope {
  readonly name: string
  readonly version: string
}

export interface SpanEvent {
  readonly timeNs: bigint
  readonly name: string
  readonly attributes: Attributes
}

export interface SpanLink {
  readonly traceId: string
  readonly spanId: string
  readonly traceState: string
  readonly attributes: Attributes
}

export interface SpanRecord {
  readonly resource: Resource
  readonly scope: Scope
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string
  readonly traceState: string
  readonly flags: number
  readonly name: string
  /** OTLP SpanKind: 0 unspecified … 5 consumer. */
  readonly kind: number
  readonly startNs: bigint
  readonly endNs: bigint
  readonly attributes: Attributes
  readonly events: readonly SpanEvent[]
  readonly links: readonly SpanLink[]
  /** OTLP StatusCode: 0 unset, 1 ok, 2 error. */
  readonly statusCode: number
  readonly statusMessage: string
}

export interface LogRecord {
  readonly resource: Resource
  readonly scope: Scope
  readonly timeNs: bigint
  readonly observedTimeNs: bigint
  readonly severityNumber: number
  readonly severityText: string
  readonly body: string
  readonly attributes: Attributes
  readonly flags: number
  readonly traceId: string
  readonly spanId: string
  readonly eventName: string
}

export const SERVICE_NAME = 'service.name'
