import { BusinessKeyFinder } from '../../collector/keys.ts'
import type { SpanRecord } from '../../collector/otlp/model.ts'
import { SPAN_KINDS, STATUS_CODES, spanDuration } from '../../collector/rows.ts'
import { ResourceIds } from '../../collector/spans/resources.ts'
import type { EntityKeyAliases } from '../../core/entity-keys.ts'

/*
 * Spans as `JSONCompactEachRow` lines, the way the collector wrote them before Native blocks: the
 * reference the Native encoder is proven against (test/collector/native.test.ts), in the format the
 * engine parses by itself. Lone surrogates are escaped as JSON.stringify writes them; repair them with
 * collector/well-formed.ts's repairLines before inserting.
 */

const q = JSON.stringify

export function spanRows(spans: readonly SpanRecord[], aliases: EntityKeyAliases): string[] {
  const resources = new ResourceIds()
  const keys = new BusinessKeyFinder(aliases)
  const out: string[] = new Array(spans.length)
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i] as SpanRecord
    const ctx = keys.find(s.attributes, s.resource.attributes)
    const duration = spanDuration(s)
    const events =
      s.events.length === 0
        ? '[]'
        : `[${s.events.map((e) => `[${e.timeNs},${q(e.name)},${q(e.attributes)}]`).join(',')}]`
    const links =
      s.links.length === 0 ? '[]' : q(s.links.map((l) => [l.traceId, l.spanId, l.traceState, l.attributes]))
    out[i] =
      `[${s.startNs},"${s.traceId}","${s.spanId}","${s.parentSpanId}",${q(s.traceState)},${s.flags},${q(s.name)},` +
      `"${SPAN_KINDS[s.kind]}",${q(s.resource.serviceName)},${q(s.scope.name)},${q(s.scope.version)},"${duration}",` +
      `"${STATUS_CODES[s.statusCode]}",${q(s.statusMessage)},${q(ctx.connector)},${q(ctx.flow)},${q(ctx.system)},` +
      `${q(ctx.stage)},${q(ctx.location)},${q(ctx.entities)},"${resources.of(s.resource)}",` +
      `${q(s.resource.attributes['service.version'] ?? '')},${q(s.attributes)},` +
      `${events},${links}]`
  }
  return out
}
