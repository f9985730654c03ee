import { requireSources } from '../../auth/scope.ts'
import type { EntityKeyAliases } from '../../core/entity-keys.ts'
import type { RedactionKind, Redactor } from '../../core/privacy.ts'
import { spanBlock } from '../native/spans.ts'
import { decodeTraceJson } from '../otlp/decode-json.ts'
import { decodeTraceRequest } from '../otlp/decode-proto.ts'
import type { Resource, SpanRecord } from '../otlp/model.ts'
import { sourcesNamed } from '../sources.ts'
import { Truncator } from '../truncate.ts'
import { illFormedSpanStrings, wellFormed } from '../well-formed.ts'
import { retainedWindow } from '../window.ts'
import { ResourceIds, type SpanResource } from './resources.ts'

/** One OTLP trace request as received. */
export interface SpanRequest {
  readonly body: Uint8Array
  readonly encoding: 'protobuf' | 'json'
  /** What the sender's ingestion key may write for (undefined: anything). */
  readonly sources?: readonly string[]
  readonly nowMs: number
}

/** What an OTLP request's preparing counts, to say in its partial success and in /metrics. */
export interface PreparedCounts {
  /** Items (spans, log records) in the request. */
  readonly received: number
  /** Items in the rows to write. */
  readonly kept: number
  /** Items outside the retained window, not stored. */
  readonly outsideRetention: number
  /** Strings that held a lone UTF-16 surrogate, repaired (OTLP/JSON only can carry them). */
  readonly surrogates: number
  /** Texts cut to the length limit. */
  readonly truncated: number
  readonly redactions: Partial<Record<RedactionKind, number>>
  /** Time spent, for admission's estimate of the decode rate. */
  readonly workMs: number
}

/** What a span request becomes: the block to write, its spans' identities, and what to count and say. */
export interface PreparedSpans extends PreparedCounts {
  /** ClickHouse Native block of the kept spans (collector/native). */
  readonly block: Uint8Array
  /** The resources the block's spans refer to by id: stored in span_resources before the block. */
  readonly resources: readonly SpanResource[]
  /** Each kept span's identity (trace id + span id + service, as stored) and start time, in block order. */
  readonly keyIds: readonly string[]
  readonly keyTimes: BigInt64Array
}

/** What preparing needs besides the request: settings, entity keys, personal-data rules. */
export interface PrepareContext {
  readonly retentionDays: number
  readonly maxAttributeLength: number
  /** The most a request's rows may take: past it, 413 (core/config.ts). */
  readonly maxRequestBytes: number
  readonly aliases: EntityKeyAliases
  readonly privacy?: Redactor
  /** Where `privacy` counts what it redacts (it was made with a counter into this map). */
  readonly redactionCounts: Map<RedactionKind, number>
}

/**
 * Spans with personal data removed. A resource is shared by every span under it and is redacted once
 * (a copy per span would also cost the block encoder its per-resource cache).
 */
function redactSpans(spans: readonly SpanRecord[], privacy: Redactor): SpanRecord[] {
  const resources = new Map<Resource, Resource>()
  return spans.map((s) => {
    const p = privacy.forSource(s.resource.serviceName)
    let resource = resources.get(s.resource)
    if (resource === undefined) {
      const attributes = p.attributes(s.resource.attributes)
      resource = attributes === s.resource.attributes ? s.resource : { ...s.resource, attributes }
      resources.set(s.resource, resource)
    }
    return {
      ...s,
      resource,
      attributes: p.attributes(s.attributes),
      statusMessage: p.text(s.statusMessage),
      events: s.events.map((e) => ({ ...e, attributes: p.attributes(e.attributes) })),
      links: s.links.map((l) => ({ ...l, attributes: p.attributes(l.attributes) })),
    }
  })
}

/**
 * Decode → scope check → retention window → truncation → redaction → one Native block with the
 * spans' identities. Pure and synchronous: it runs on a worker thread (collector/threads/pool.ts)
 * or, with no workers, on the main one. Throws the product's errors (400, 403) for a bad request.
 */
export function prepareSpans(request: SpanRequest, ctx: PrepareContext): PreparedSpans {
  const started = performance.now()
  const body = Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength)
  const records = request.encoding === 'protobuf' ? decodeTraceRequest(body) : decodeTraceJson(body)
  if (request.sources) requireSources(request.sources, sourcesNamed(records))
  const { oldest, newest } = retainedWindow(request.nowMs, ctx.retentionDays)
  const truncator = new Truncator(ctx.maxAttributeLength)
  const inWindow = records
    .filter((s) => s.startNs >= oldest && s.startNs <= newest)
    .map((s) => truncator.span(s))
  // Synchronous from here to the end: the counts in the map are this request's.
  ctx.redactionCounts.clear()
  const kept = ctx.privacy ? redactSpans(inWindow, ctx.privacy) : inWindow
  const resources = new ResourceIds()
  const keyTimes = new BigInt64Array(kept.length)
  const keyIds = kept.map((s, i) => {
    keyTimes[i] = s.startNs
    return s.traceId + s.spanId + wellFormed(s.resource.serviceName)
  })
  return {
    received: records.length,
    kept: kept.length,
    outsideRetention: records.length - kept.length,
    // Only JSON can carry a lone surrogate (see well-formed.ts); the block's encoder repairs them.
    surrogates: request.encoding === 'json' ? illFormedSpanStrings(kept) : 0,
    truncated: truncator.truncated,
    redactions: Object.fromEntries(ctx.redactionCounts),
    block: spanBlock(kept, ctx.aliases, resources, ctx.maxRequestBytes),
    resources: resources.resources,
    keyIds,
    keyTimes,
    workMs: performance.now() - started,
  }
}
