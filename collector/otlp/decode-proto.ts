import { BadRequestError } from '../../core/errors.ts'
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
import { checkSpanId, checkTraceId } from './validate.ts'

/*
 * OTLP protobuf → records, field numbers from opentelemetry-proto (trace/v1, logs/v1, common/v1,
 * resource/v1). Unknown fields are skipped, as protobuf requires for forward compatibility.
 */

const WIRE_VARINT = 0
const WIRE_LEN = 2

type Tagged = { field: number; wire: number }
function tag(r: ProtobufReader): Tagged {
  const t = r.uint32()
  return { field: t >>> 3, wire: t & 7 }
}

function expectWire(r: ProtobufReader, t: Tagged, wire: number, what: string): void {
  if (t.wire !== wire)
    throw new BadRequestError('invalid_protobuf', `malformed protobuf: ${what} has wire type ${t.wire}`)
}

/** AnyValue → a JS value (int64 as string when beyond 2^53), for nesting in arrays and maps. */
function anyValue(r: ProtobufReader, end: number): unknown {
  let value: unknown = null
  while (r.pos < end) {
    const t = tag(r)
    switch (t.field) {
      case 1:
        value = r.string()
        break
      case 2:
        value = r.uint32() !== 0
        break
      case 3: {
        const n = r.int64()
        value = n >= -9007199254740991n && n <= 9007199254740991n ? Number(n) : n.toString()
        break
      }
      case 4:
        value = r.double()
        break
      case 5: {
        const arrEnd = r.lengthDelimited()
        const items: unknown[] = []
        while (r.pos < arrEnd) {
          const it = tag(r)
          if (it.field === 1 && it.wire === WIRE_LEN) items.push(anyValue(r, r.lengthDelimited()))
          else r.skip(it.wire)
        }
        value = items
        break
      }
      case 6: {
        const obj: Record<string, unknown> = {}
        const listEnd = r.lengthDelimited()
        while (r.pos < listEnd) {
          const it = tag(r)
          if (it.field === 1 && it.wire === WIRE_LEN) {
            const [k, v] = keyValue(r, r.lengthDelimited())
            obj[k] = v
          } else r.skip(it.wire)
        }
        value = obj
        break
      }
      case 7:
        value = r.base64()
        break
      default:
        r.skip(t.wire)
    }
  }
  r.pos = end
  return value
}

function keyValue(r: ProtobufReader, end: number): [string, unknown] {
  let key = ''
  let value: unknown = null
  while (r.pos < end) {
    const t = tag(r)
    if (t.field === 1 && t.wire === WIRE_LEN) key = r.string()
    else if (t.field === 2 && t.wire === WIRE_LEN) value = anyValue(r, r.lengthDelimited())
    else r.skip(t.wire)
  }
  return [key, value]
}

export function stringifyValue(v: unknown): string {
  if (typeof v === 'string') return v
  if (v === null || v === undefined) return ''
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

/** Reads one KeyValue into `into`, flattening the value to the stored string form. */
function attribute(r: ProtobufReader, into: Attributes): void {
  const [k, v] = keyValue(r, r.lengthDelimited())
  if (k) into[k] = stringifyValue(v)
}

function resource(r: ProtobufReader, end: number): Resource {
  const attributes: Attributes = {}
  while (r.pos < end) {
    const t = tag(r)
    if (t.field === 1 && t.wire === WIRE_LEN) attribute(r, attributes)
    else r.skip(t.wire)
  }
  return { attributes, serviceName: attributes[SERVICE_NAME] ?? 'unknown_service' }
}

function scope(r: ProtobufReader, end: number): Scope {
  let name = ''
  let version = ''
  while (r.pos < end) {
    const t = tag(r)
    if (t.field === 1 && t.wire === WIRE_LEN) name = r.string()
    else if (t.field === 2 && t.wire === WIRE_LEN) version = r.string()
    else r.skip(t.wire)
  }
  return { name, version }
}

const EMPTY_RESOURCE: Resource = Object.freeze({ attributes: {}, serviceName: 'unknown_service' })
const EMPTY_SCOPE: Scope = Object.freeze({ name: '', version: '' })

function spanEvent(r: ProtobufReader, end: number): SpanEvent {
  let timeNs = 0n
  let name = ''
  const attributes: Attributes = {}
  while (r.pos < end) {
    const t = tag(r)
    if (t.field === 1 && t.wire === 1) timeNs = r.fixed64()
    else if (t.field === 2 && t.wire === WIRE_LEN) name = r.string()
    else if (t.field === 3 && t.wire === WIRE_LEN) attribute(r, attributes)
    else r.skip(t.wire)
  }
  return { timeNs, name, attributes }
}

function spanLink(r: ProtobufReader, end: number, path: string): SpanLink {
  let traceId = ''
  let spanId = ''
  let traceState = ''
  const attributes: Attributes = {}
  while (r.pos < end) {
    const t = tag(r)
    if (t.field === 1 && t.wire === WIRE_LEN) traceId = r.hex()
    else if (t.field === 2 && t.wire === WIRE_LEN) spanId = r.hex()
    else if (t.field === 3 && t.wire === WIRE_LEN) traceState = r.string()
    else if (t.field === 4 && t.wire === WIRE_LEN) attribute(r, attributes)
    else r.skip(t.wire)
  }
  checkTraceId(traceId, `${path}.traceId`)
  checkSpanId(spanId, `${path}.spanId`)
  return { traceId, spanId, traceState, attributes }
}

function span(r: ProtobufReader, end: number, res: Resource, sc: Scope, path: string): SpanRecord {
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
  const events: SpanEvent[] = []
  const links: SpanLink[] = []
  let statusCode = 0
  let statusMessage = ''
  while (r.pos < end) {
    const t = tag(r)
    switch (t.field) {
      case 1:
        expectWire(r, t, WIRE_LEN, `${path}.traceId`)
        traceId = r.hex()
        break
      case 2:
        expectWire(r, t, WIRE_LEN, `${path}.spanId`)
        spanId = r.hex()
        break
      case 3:
        expectWire(r, t, WIRE_LEN, `${path}.traceState`)
        traceState = r.string()
        break
      case 4:
        expectWire(r, t, WIRE_LEN, `${path}.parentSpanId`)
        parentSpanId = r.hex()
        break
      case 5:
        expectWire(r, t, WIRE_LEN, `${path}.name`)
        name = r.string()
        break
      case 6:
        expectWire(r, t, WIRE_VARINT, `${path}.kind`)
        kind = r.uint32()
        break
      case 7:
        expectWire(r, t, 1, `${path}.startTimeUnixNano`)
        startNs = r.fixed64()
        break
      case 8:
        expectWire(r, t, 1, `${path}.endTimeUnixNano`)
        endNs = r.fixed64()
        break
      case 9:
        expectWire(r, t, WIRE_LEN, `${path}.attributes`)
        attribute(r, attributes)
        break
      case 11:
        expectWire(r, t, WIRE_LEN, `${path}.events`)
        events.push(spanEvent(r, r.lengthDelimited()))
        break
      case 13:
        expectWire(r, t, WIRE_LEN, `${path}.links`)
        links.push(spanLink(r, r.lengthDelimited(), `${path}.links[${links.length}]`))
        break
      case 15: {
        expectWire(r, t, WIRE_LEN, `${path}.status`)
        const sEnd = r.lengthDelimited()
        while (r.pos < sEnd) {
          const st = tag(r)
          if (st.field === 2 && st.wire === WIRE_LEN) statusMessage = r.string()
          else if (st.field === 3 && st.wire === WIRE_VARINT) statusCode = r.uint32()
          else r.skip(st.wire)
        }
        break
      }
      case 16:
        expectWire(r, t, 5, `${path}.flags`)
        flags = r.fixed32()
        break
      default:
        r.skip(t.wire)
    }
  }
  checkTraceId(traceId, `${path}.traceId`)
  checkSpanId(spanId, `${path}.spanId`)
  if (parentSpanId !== '') checkSpanId(parentSpanId, `${path}.parentSpanId`)
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
    events,
    links,
    statusCode: statusCode > 2 ? 0 : statusCode,
    statusMessage,
  }
}

/**
 * Walks the Resource* → Scope* → item nesting shared by traces and logs, calling `item` for each
 * leaf message with its resource and scope (which may appear after the items on the wire).
 */
function walk<T>(
  body: Buffer,
  names: { resource: string; scope: string; item: string },
  item: (r: ProtobufReader, end: number, res: Resource, sc: Scope, path: string) => T,
): T[] {
  const out: T[] = []
  const r = new ProtobufReader(body)
  let ri = 0
  while (!r.done) {
    const t = tag(r)
    if (t.field !== 1 || t.wire !== WIRE_LEN) {
      r.skip(t.wire)
      continue
    }
    const rEnd = r.lengthDelimited()
    const rPath = `${names.resource}[${ri++}]`
    // First pass finds the resource, wherever it sits; second pass decodes the scopes.
    const rStart = r.pos
    let res = EMPTY_RESOURCE
    while (r.pos < rEnd) {
      const rt = tag(r)
      if (rt.field === 1 && rt.wire === WIRE_LEN) res = resource(r, r.lengthDelimited())
      else r.skip(rt.wire)
    }
    r.pos = rStart
    let si = 0
    while (r.pos < rEnd) {
      const rt = tag(r)
      if (rt.field !== 2 || rt.wire !== WIRE_LEN) {
        r.skip(rt.wire)
        continue
      }
      const sEnd = r.lengthDelimited()
      const sPath = `${rPath}.${names.scope}[${si++}]`
      const sStart = r.pos
      let sc = EMPTY_SCOPE
      while (r.pos < sEnd) {
        const st = tag(r)
        if (st.field === 1 && st.wire === WIRE_LEN) sc = scope(r, r.lengthDelimited())
        else r.skip(st.wire)
      }
      r.pos = sStart
      let ii = 0
      while (r.pos < sEnd) {
        const st = tag(r)
        if (st.field === 2 && st.wire === WIRE_LEN) {
          out.push(item(r, r.lengthDelimited(), res, sc, `${sPath}.${names.item}[${ii++}]`))
        } else r.skip(st.wire)
      }
    }
  }
  return out
}

export function decodeTraceRequest(body: Buffer): SpanRecord[] {
  return walk(body, { resource: 'resourceSpans', scope: 'scopeSpans', item: 'spans' }, span)
}

function logRecord(r: ProtobufReader, end: number, res: Resource, sc: Scope, path: string): LogRecord {
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
    const t = tag(r)
    if (t.field === 1 && t.wire === 1) timeNs = r.fixed64()
    else if (t.field === 11 && t.wire === 1) observedTimeNs = r.fixed64()
    else if (t.field === 2 && t.wire === WIRE_VARINT) severityNumber = r.uint32()
    else if (t.field === 3 && t.wire === WIRE_LEN) severityText = r.string()
    else if (t.field === 5 && t.wire === WIRE_LEN) body = stringifyValue(anyValue(r, r.lengthDelimited()))
    else if (t.field === 6 && t.wire === WIRE_LEN) attribute(r, attributes)
    else if (t.field === 8 && t.wire === 5) flags = r.fixed32()
    else if (t.field === 9 && t.wire === WIRE_LEN) traceId = r.hex()
    else if (t.field === 10 && t.wire === WIRE_LEN) spanId = r.hex()
    else if (t.field === 12 && t.wire === WIRE_LEN) eventName = r.string()
    else r.skip(t.wire)
  }
  // Logs need not belong to a trace; when they claim to, the ids must be valid.
  if (traceId !== '') checkTraceId(traceId, `${path}.traceId`)
  if (spanId !== '') checkSpanId(spanId, `${path}.spanId`)
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
