import { checkTime, MAX_NESTING_DEPTH, tooDeep } from './limits.ts'
import {
  type Attributes,
  type LogRecord,
  type Resource,
  type Scope,
  SERVICE_NAME,
  type SpanEvent,
  type SpanLink,
  type SpanRecord,
} from './model.ts'
import { ProtobufReader } from './protobuf-reader.ts'
import { checkHexSpanId, checkHexTraceId } from './validate.ts'

/*
 * OTLP protobuf → records, field numbers from opentelemetry-proto (trace/v1, logs/v1, common/v1,
 * resource/v1). Unknown fields are skipped, as protobuf requires for forward compatibility.
 *
 * This is the ingest hot path (profiled with `npm run bench:ingest`): tags are compared as whole
 * numbers (`field << 3 | wire type`), so a field with an unexpected wire type is skipped like an
 * unknown one, and scalar attribute values go straight to their stored string form.
 */

const LEN = 2
const VARINT = 0
const I64 = 1
const I32 = 5
const key = (field: number, wire: number) => (field << 3) | wire

/** AnyValue → a JS value, for values nested in arrays and maps (int64 beyond 2^53 as a string). */
function anyValue(r: ProtobufReader, end: number, depth = 0): unknown {
  if (depth > MAX_NESTING_DEPTH) tooDeep('an attribute value')
  let value: unknown = null
  while (r.pos < end) {
    const t = r.uint32()
    switch (t) {
      case key(1, LEN):
        value = r.string()
        break
      case key(2, VARINT):
        value = r.uint32() !== 0
        break
      case key(3, VARINT):
        value = r.int64Value()
        break
      case key(4, I64):
        value = r.double()
        break
      case key(5, LEN): {
        const arrEnd = r.lengthDelimited()
        const items: unknown[] = []
        while (r.pos < arrEnd) {
          const it = r.uint32()
          if (it === key(1, LEN)) items.push(anyValue(r, r.lengthDelimited(), depth + 1))
          else r.skip(it)
        }
        r.close(arrEnd)
        value = items
        break
      }
      case key(6, LEN): {
        const obj: Record<string, unknown> = {}
        const listEnd = r.lengthDelimited()
        while (r.pos < listEnd) {
          const it = r.uint32()
          if (it === key(1, LEN)) {
            const kvEnd = r.lengthDelimited()
            let k = ''
            let v: unknown = null
            while (r.pos < kvEnd) {
              const kt = r.uint32()
              if (kt === key(1, LEN)) k = r.string()
              else if (kt === key(2, LEN)) v = anyValue(r, r.lengthDelimited(), depth + 1)
              else r.skip(kt)
            }
            r.close(kvEnd)
            obj[k] = v
          } else r.skip(it)
        }
        r.close(listEnd)
        value = obj
        break
      }
      case key(7, LEN):
        value = r.base64()
        break
      default:
        r.skip(t)
    }
  }
  r.close(end)
  return value
}

export function stringifyValue(v: unknown): string {
  if (typeof v === 'string') return v
  if (v === null || v === undefined) return ''
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

/** AnyValue → its stored string: scalars directly, arrays and maps as JSON. */
function anyValueString(r: ProtobufReader, end: number): string {
  // The common case, a lone string value, without the generic walk.
  if (r.pos < end && r.buf[r.pos] === key(1, LEN)) {
    const start = r.pos++
    const s = r.repeated()
    if (r.pos === end) return s
    r.pos = start
  }
  return stringifyValue(anyValue(r, end))
}

/** Reads one KeyValue into `into`. */
function attribute(r: ProtobufReader, into: Attributes): void {
  const end = r.lengthDelimited()
  let k = ''
  let v = ''
  while (r.pos < end) {
    const t = r.uint32()
    if (t === key(1, LEN)) k = r.repeated()
    else if (t === key(2, LEN)) v = anyValueString(r, r.lengthDelimited())
    else r.skip(t)
  }
  r.close(end)
  if (k !== '') into[k] = v
}

function resource(r: ProtobufReader, end: number): Resource {
  const attributes: Attributes = {}
  while (r.pos < end) {
    const t = r.uint32()
    if (t === key(1, LEN)) attribute(r, attributes)
    else r.skip(t)
  }
  r.close(end)
  return { attributes, serviceName: attributes[SERVICE_NAME] ?? 'unknown_service' }
}

function scope(r: ProtobufReader, end: number): Scope {
  let name = ''
  let version = ''
  while (r.pos < end) {
    const t = r.uint32()
    if (t === key(1, LEN)) name = r.string()
    else if (t === key(2, LEN)) version = r.string()
    else r.skip(t)
  }
  r.close(end)
  return { name, version }
}

const EMPTY_RESOURCE: Resource = Object.freeze({ attributes: {}, serviceName: 'unknown_service' })
const EMPTY_SCOPE: Scope = Object.freeze({ name: '', version: '' })

function spanEvent(r: ProtobufReader, end: number): SpanEvent {
  let timeNs = 0n
  let name = ''
  const attributes: Attributes = {}
  while (r.pos < end) {
    const t = r.uint32()
    if (t === key(1, I64)) timeNs = r.fixed64()
    else if (t === key(2, LEN)) name = r.repeated()
    else if (t === key(3, LEN)) attribute(r, attributes)
    else r.skip(t)
  }
  r.close(end)
  return { timeNs, name, attributes }
}

function spanLink(r: ProtobufReader, end: number, path: string): SpanLink {
  let traceId = ''
  let spanId = ''
  let traceState = ''
  const attributes: Attributes = {}
  while (r.pos < end) {
    const t = r.uint32()
    if (t === key(1, LEN)) traceId = r.hex()
    else if (t === key(2, LEN)) spanId = r.hex()
    else if (t === key(3, LEN)) traceState = r.string()
    else if (t === key(4, LEN)) attribute(r, attributes)
    else r.skip(t)
  }
  r.close(end)
  checkHexTraceId(traceId, `${path}.traceId`)
  checkHexSpanId(spanId, `${path}.spanId`)
  return { traceId, spanId, traceState, attributes }
}

const NO_EVENTS: readonly SpanEvent[] = Object.freeze([])
const NO_LINKS: readonly SpanLink[] = Object.freeze([])

function span(r: ProtobufReader, end: number, res: Resource, sc: Scope, at: ItemPath): SpanRecord {
  let traceId = ''
  let spanId = ''
  let parentSpanId = ''
  let traceState = ''
  let flags = 0
  let name = ''
  let kind = 0
  let startNs = 0n
  let endNs = 0n
  const attributes: Attributes = {}
  let events: SpanEvent[] | undefined
  let links: SpanLink[] | undefined
  let statusCode = 0
  let statusMessage = ''
  while (r.pos < end) {
    const t = r.uint32()
    switch (t) {
      case key(1, LEN):
        traceId = r.hex()
        break
      case key(2, LEN):
        spanId = r.hex()
        break
      case key(3, LEN):
        traceState = r.string()
        break
      case key(4, LEN):
        parentSpanId = r.hex()
        break
      case key(5, LEN):
        name = r.repeated()
        break
      case key(6, VARINT):
        kind = r.uint32()
        break
      case key(7, I64):
        startNs = r.fixed64()
        break
      case key(8, I64):
        endNs = r.fixed64()
        break
      case key(9, LEN):
        attribute(r, attributes)
        break
      case key(11, LEN):
        events ??= []
        events.push(spanEvent(r, r.lengthDelimited()))
        break
      case key(13, LEN):
        links ??= []
        links.push(spanLink(r, r.lengthDelimited(), `${at.render()}.links[${links.length}]`))
        break
      case key(15, LEN): {
        const sEnd = r.lengthDelimited()
        while (r.pos < sEnd) {
          const st = r.uint32()
          if (st === key(2, LEN)) statusMessage = r.string()
          else if (st === key(3, VARINT)) statusCode = r.uint32()
          else r.skip(st)
        }
        r.close(sEnd)
        break
      }
      case key(16, I32):
        flags = r.fixed32()
        break
      default:
        r.skip(t)
    }
  }
  r.close(end)
  checkHexTraceId(traceId, at, '.traceId')
  checkHexSpanId(spanId, at, '.spanId')
  if (parentSpanId !== '') checkHexSpanId(parentSpanId, at, '.parentSpanId')
  checkTime(startNs, at, '.startTimeUnixNano')
  checkTime(endNs, at, '.endTimeUnixNano')
  if (events) for (const [i, e] of events.entries()) checkTime(e.timeNs, at, `.events[${i}].timeUnixNano`)
  return {
    resource: res,
    scope: sc,
    traceId,
    spanId,
    parentSpanId,
    traceState,
    flags,
    name,
    kind: kind > 5 ? 0 : kind,
    startNs,
    endNs,
    attributes,
    events: events ?? NO_EVENTS,
    links: links ?? NO_LINKS,
    statusCode: statusCode > 2 ? 0 : statusCode,
    statusMessage,
  }
}

/** Where the decoder is, rendered into a message only when an item is refused. */
class ItemPath {
  resource = 0
  scope = 0
  item = 0
  constructor(private readonly names: { resource: string; scope: string; item: string }) {}
  render(): string {
    return `${this.names.resource}[${this.resource}].${this.names.scope}[${this.scope}].${this.names.item}[${this.item}]`
  }
}

/**
 * Walks the Resource* → Scope* → item nesting shared by traces and logs, calling `item` for each
 * leaf message with its resource and scope (which may appear after the items on the wire).
 */
function walk<T>(
  body: Buffer,
  names: { resource: string; scope: string; item: string },
  item: (r: ProtobufReader, end: number, res: Resource, sc: Scope, at: ItemPath) => T,
): T[] {
  const at = new ItemPath(names)
  const out: T[] = []
  const r = new ProtobufReader(body)
  let ri = 0
  while (!r.done) {
    const t = r.uint32()
    if (t !== key(1, LEN)) {
      r.skip(t)
      continue
    }
    const rEnd = r.lengthDelimited()
    at.resource = ri++
    // First pass finds the resource, wherever it sits; second pass decodes the scopes.
    const rStart = r.pos
    let res = EMPTY_RESOURCE
    while (r.pos < rEnd) {
      const rt = r.uint32()
      if (rt === key(1, LEN)) res = resource(r, r.lengthDelimited())
      else r.skip(rt)
    }
    r.close(rEnd)
    r.pos = rStart
    let si = 0
    while (r.pos < rEnd) {
      const rt = r.uint32()
      if (rt !== key(2, LEN)) {
        r.skip(rt)
        continue
      }
      const sEnd = r.lengthDelimited()
      at.scope = si++
      const sStart = r.pos
      let sc = EMPTY_SCOPE
      while (r.pos < sEnd) {
        const st = r.uint32()
        if (st === key(1, LEN)) sc = scope(r, r.lengthDelimited())
        else r.skip(st)
      }
      r.close(sEnd)
      r.pos = sStart
      let ii = 0
      while (r.pos < sEnd) {
        const st = r.uint32()
        if (st === key(2, LEN)) {
          at.item = ii++
          out.push(item(r, r.lengthDelimited(), res, sc, at))
        } else r.skip(st)
      }
      r.close(sEnd)
    }
    r.close(rEnd)
  }
  r.close(r.end)
  return out
}

export function decodeTraceRequest(body: Buffer): SpanRecord[] {
  return walk(body, { resource: 'resourceSpans', scope: 'scopeSpans', item: 'spans' }, span)
}

function logRecord(r: ProtobufReader, end: number, res: Resource, sc: Scope, at: ItemPath): LogRecord {
  let timeNs = 0n
  let observedTimeNs = 0n
  let severityNumber = 0
  let severityText = ''
  let body = ''
  const attributes: Attributes = {}
  let flags = 0
  let traceId = ''
  let spanId = ''
  let eventName = ''
  while (r.pos < end) {
    const t = r.uint32()
    switch (t) {
      case key(1, I64):
        timeNs = r.fixed64()
        break
      case key(11, I64):
        observedTimeNs = r.fixed64()
        break
      case key(2, VARINT):
        severityNumber = r.uint32()
        break
      case key(3, LEN):
        severityText = r.string()
        break
      case key(5, LEN):
        body = anyValueString(r, r.lengthDelimited())
        break
      case key(6, LEN):
        attribute(r, attributes)
        break
      case key(8, I32):
        flags = r.fixed32()
        break
      case key(9, LEN):
        traceId = r.hex()
        break
      case key(10, LEN):
        spanId = r.hex()
        break
      case key(12, LEN):
        eventName = r.string()
        break
      default:
        r.skip(t)
    }
  }
  r.close(end)
  // Logs need not belong to a trace; when they claim to, the ids must be valid.
  if (traceId !== '') checkHexTraceId(traceId, at, '.traceId')
  if (spanId !== '') checkHexSpanId(spanId, at, '.spanId')
  checkTime(timeNs, at, '.timeUnixNano')
  checkTime(observedTimeNs, at, '.observedTimeUnixNano')
  return {
    resource: res,
    scope: sc,
    timeNs,
    observedTimeNs,
    severityNumber: Math.min(severityNumber, 24),
    severityText,
    body,
    attributes,
    flags,
    traceId,
    spanId,
    eventName,
  }
}

export function decodeLogsRequest(body: Buffer): LogRecord[] {
  return walk(body, { resource: 'resourceLogs', scope: 'scopeLogs', item: 'logRecords' }, logRecord)
}
