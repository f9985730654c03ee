import type { EntityKeyAliases } from '../core/entity-keys.ts'
import { PayloadTooLargeError } from '../core/errors.ts'
import type { BusinessEvent } from './cloudevents.ts'
import { BusinessKeyFinder } from './keys.ts'
import type { LogRecord, Resource, SpanRecord } from './otlp/model.ts'

/*
 * Records → `JSONCompactEachRow` lines for the tables of store/migrations. Column lists and the
 * values in each line are kept side by side here so they cannot drift apart. Ids are validated hex
 * and times are digits, so they are written without escaping; every other string goes through
 * JSON.stringify. Times are bare JSON numbers: the engine reads an integer as nanoseconds exactly,
 * where a quoted one goes through a date parser (`"0"` is refused, `"5"` is 5 January).
 *
 * Spans, the bulk of ingest, are written as Native blocks instead (collector/native/spans.ts); their
 * column list and the values shared with that encoder stay here beside the others.
 */

/** Enum8 names of `kind` and `status_code`, indexed by their OTLP number (which is their Enum8 value). */
export const SPAN_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const
export const STATUS_CODES = ['unset', 'ok', 'error'] as const

/** Nanoseconds from start to end; 0 when the end is unset or before the start. */
export const spanDuration = (s: SpanRecord): bigint => (s.endNs > s.startNs ? s.endNs - s.startNs : 0n)

export const SPAN_COLUMNS = [
  'timestamp',
  'trace_id',
  'span_id',
  'parent_span_id',
  'trace_state',
  'flags',
  'name',
  'kind',
  'service_name',
  'scope_name',
  'scope_version',
  'duration_ns',
  'status_code',
  'status_message',
  'connector',
  'flow',
  'system',
  'stage',
  'location',
  'entities',
  'resource_id',
  'service_version',
  'attributes',
  'events',
  'links',
] as const

export const LOG_COLUMNS = [
  'timestamp',
  'observed_timestamp',
  'trace_id',
  'span_id',
  'flags',
  'severity_text',
  'severity_number',
  'service_name',
  'scope_name',
  'event_name',
  'body',
  'connector',
  'flow',
  'system',
  'location',
  'entities',
  'resource_attributes',
  'attributes',
] as const

export const EVENT_COLUMNS = [
  'time',
  'received_at',
  'type',
  'subject',
  'source',
  'id',
  'specversion',
  'datacontenttype',
  'dataschema',
  'data',
  'extensions',
  'trace_id',
  'span_id',
  'connector',
  'flow',
  'system',
  'location',
  'entities',
] as const

const q = JSON.stringify

/** Resources are shared by every span of a ResourceSpans: serialise each once. */
class ResourceJson {
  private readonly cache = new Map<Resource, string>()
  get(resource: Resource): string {
    let json = this.cache.get(resource)
    if (json === undefined) {
      json = q(resource.attributes)
      this.cache.set(resource, json)
    }
    return json
  }
}

/**
 * Log records as row lines. Each row holds its resource's attributes, so the rows can be far larger
 * than the request: past `maxChars` in all, the request is refused (413) before more are made.
 */
export function logRows(
  logs: readonly LogRecord[],
  aliases: EntityKeyAliases,
  receivedNs: bigint,
  maxChars = Number.POSITIVE_INFINITY,
): string[] {
  const resources = new ResourceJson()
  const keys = new BusinessKeyFinder(aliases, maxChars)
  let chars = 0
  return logs.map((l) => {
    const ctx = keys.find(l.attributes, l.resource.attributes)
    // OTLP: when time is unset, the observed time stands in; when both are, the arrival time does.
    const observed = l.observedTimeNs || receivedNs
    const time = l.timeNs || observed
    const line =
      `[${time},${observed},"${l.traceId}","${l.spanId}",${l.flags},${q(l.severityText)},${l.severityNumber},` +
      `${q(l.resource.serviceName)},${q(l.scope.name)},${q(l.eventName)},${q(l.body)},${q(ctx.connector)},` +
      `${q(ctx.flow)},${q(ctx.system)},${q(ctx.location)},${q(ctx.entities)},${resources.get(l.resource)},` +
      `${q(l.attributes)}]`
    chars += line.length + 1
    if (chars > maxChars)
      throw new PayloadTooLargeError(
        maxChars,
        `the request's ${logs.length} log records take more than ${maxChars} bytes as rows: send smaller batches or smaller resources (each record stores its resource's attributes)`,
      )
    return line
  })
}

export function eventRow(e: BusinessEvent): string {
  return q([
    e.timeNs.toString(),
    (Number(e.receivedAtMs) / 1000).toFixed(3),
    e.type,
    e.subject,
    e.source,
    e.id,
    e.specversion,
    e.datacontenttype,
    e.dataschema,
    e.data,
    e.extensions,
    e.traceId,
    e.spanId,
    e.context.connector,
    e.context.flow,
    e.context.system,
    e.context.location,
    e.context.entities,
  ])
}
