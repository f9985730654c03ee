import { BadRequestError } from '../../core/errors.ts'
import { stringifyValue } from './decode-proto.ts'
import { checkTime, checkUint32, MAX_NESTING_DEPTH, tooDeep } from './limits.ts'
import type { Attributes, LogRecord, Resource, Scope, SpanRecord } from './model.ts'
import { SERVICE_NAME } from './model.ts'
import { checkSpanId, checkTraceId } from './validate.ts'

/*
 * OTLP/JSON (the protobuf JSON mapping with OTLP's exceptions): lowerCamelCase field names, trace and
 * span ids as hex (not base64), 64-bit integers as strings or numbers, enums as integers.
 */

type Json = Record<string, unknown>

function bad(path: string, problem: string): never {
  throw new BadRequestError('invalid_otlp_json', `${path}: ${problem}`)
}

function obj(v: unknown, path: string): Json {
  if (v === undefined || v === null) return {}
  if (typeof v !== 'object' || Array.isArray(v)) bad(path, 'must be an object')
  return v as Json
}

function arr(v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) bad(path, 'must be an array')
  return v
}

function str(v: unknown, path: string): string {
  if (v === undefined || v === null) return ''
  if (typeof v !== 'string') bad(path, 'must be a string')
  return v
}

function int(v: unknown, path: string): number {
  if (v === undefined || v === null) return 0
  const n = typeof v === 'string' ? Number(v) : v
  if (typeof n !== 'number' || !Number.isInteger(n)) bad(path, 'must be an integer')
  return n
}

function nanos(v: unknown, path: string): bigint {
  if (v === undefined || v === null || v === '') return 0n
  let ns: bigint
  if (typeof v === 'string' && /^\d+$/.test(v)) ns = BigInt(v)
  else if (typeof v === 'number' && Number.isFinite(v) && v >= 0) ns = BigInt(Math.round(v))
  else return bad(path, 'must be an unsigned integer (string or number) of nanoseconds')
  checkTime(ns, path)
  return ns
}

function uint32(v: unknown, path: string): number {
  const n = int(v, path)
  checkUint32(n, path)
  return n
}

function id(v: unknown, path: string): string {
  return str(v, path).toLowerCase()
}

function anyValue(v: unknown, path: string, depth = 0): unknown {
  if (depth > MAX_NESTING_DEPTH) tooDeep(path)
  const o = obj(v, path)
  if ('stringValue' in o) return str(o.stringValue, `${path}.stringValue`)
  if ('boolValue' in o) return o.boolValue === true
  if ('intValue' in o) {
    const raw = o.intValue
    if (typeof raw === 'number' && Number.isInteger(raw)) return raw
    if (typeof raw === 'string' && /^-?\d+$/.test(raw)) {
      const n = Number(raw)
      return Number.isSafeInteger(n) ? n : raw
    }
    return bad(`${path}.intValue`, 'must be an integer')
  }
  if ('doubleValue' in o) {
    const d = Number(o.doubleValue)
    if (Number.isNaN(d) && o.doubleValue !== 'NaN') bad(`${path}.doubleValue`, 'must be a number')
    return d
  }
  if ('arrayValue' in o) {
    const values = arr(obj(o.arrayValue, `${path}.arrayValue`).values, `${path}.arrayValue.values`)
    return values.map((x, i) => anyValue(x, `${path}.arrayValue.values[${i}]`, depth + 1))
  }
  if ('kvlistValue' in o) {
    const out: Record<string, unknown> = {}
    const values = arr(obj(o.kvlistValue, `${path}.kvlistValue`).values, `${path}.kvlistValue.values`)
    values.forEach((kv, i) => {
      const p = `${path}.kvlistValue.values[${i}]`
      const e = obj(kv, p)
      out[str(e.key, `${p}.key`)] = anyValue(e.value, `${p}.value`, depth + 1)
    })
    return out
  }
  if ('bytesValue' in o) return str(o.bytesValue, `${path}.bytesValue`)
  return null
}

function attributes(v: unknown, path: string): Attributes {
  const out: Attributes = {}
  arr(v, path).forEach((kv, i) => {
    const p = `${path}[${i}]`
    const e = obj(kv, p)
    const key = str(e.key, `${p}.key`)
    if (key) out[key] = stringifyValue(anyValue(e.value, `${p}.value`))
  })
  return out
}

function resourceOf(v: unknown, path: string): Resource {
  const attrs = attributes(obj(v, path).attributes, `${path}.attributes`)
  return { attributes: attrs, serviceName: attrs[SERVICE_NAME] ?? 'unknown_service' }
}

function scopeOf(v: unknown, path: string): Scope {
  const o = obj(v, path)
  return { name: str(o.name, `${path}.name`), version: str(o.version, `${path}.version`) }
}

function walk<T>(
  root: unknown,
  names: { resource: string; scope: string; item: string },
  item: (v: Json, res: Resource, sc: Scope, path: string) => T,
): T[] {
  const out: T[] = []
  arr(obj(root, '(root)')[names.resource], names.resource).forEach((rv, ri) => {
    const rPath = `${names.resource}[${ri}]`
    const r = obj(rv, rPath)
    const res = resourceOf(r.resource, `${rPath}.resource`)
    arr(r[names.scope], `${rPath}.${names.scope}`).forEach((sv, si) => {
      const sPath = `${rPath}.${names.scope}[${si}]`
      const s = obj(sv, sPath)
      const sc = scopeOf(s.scope, `${sPath}.scope`)
      arr(s[names.item], `${sPath}.${names.item}`).forEach((iv, ii) => {
        const iPath = `${sPath}.${names.item}[${ii}]`
        out.push(item(obj(iv, iPath), res, sc, iPath))
      })
    })
  })
  return out
}

function span(s: Json, resource: Resource, scope: Scope, path: string): SpanRecord {
  const traceId = id(s.traceId, `${path}.traceId`)
  const spanId = id(s.spanId, `${path}.spanId`)
  const parentSpanId = id(s.parentSpanId, `${path}.parentSpanId`)
  checkTraceId(traceId, `${path}.traceId`)
  checkSpanId(spanId, `${path}.spanId`)
  if (parentSpanId !== '') checkSpanId(parentSpanId, `${path}.parentSpanId`)
  const status = obj(s.status, `${path}.status`)
  const kind = int(s.kind, `${path}.kind`)
  const statusCode = int(status.code, `${path}.status.code`)
  return {
    resource,
    scope,
    traceId,
    spanId,
    parentSpanId,
    traceState: str(s.traceState, `${path}.traceState`),
    flags: uint32(s.flags, `${path}.flags`),
    name: str(s.name, `${path}.name`),
    kind: kind >= 0 && kind <= 5 ? kind : 0,
    startNs: nanos(s.startTimeUnixNano, `${path}.startTimeUnixNano`),
    endNs: nanos(s.endTimeUnixNano, `${path}.endTimeUnixNano`),
    attributes: attributes(s.attributes, `${path}.attributes`),
    events: arr(s.events, `${path}.events`).map((ev, i) => {
      const p = `${path}.events[${i}]`
      const e = obj(ev, p)
      return {
        timeNs: nanos(e.timeUnixNano, `${p}.timeUnixNano`),
        name: str(e.name, `${p}.name`),
        attributes: attributes(e.attributes, `${p}.attributes`),
      }
    }),
    links: arr(s.links, `${path}.links`).map((lv, i) => {
      const p = `${path}.links[${i}]`
      const l = obj(lv, p)
      const link = {
        traceId: id(l.traceId, `${p}.traceId`),
        spanId: id(l.spanId, `${p}.spanId`),
        traceState: str(l.traceState, `${p}.traceState`),
        attributes: attributes(l.attributes, `${p}.attributes`),
      }
      checkTraceId(link.traceId, `${p}.traceId`)
      checkSpanId(link.spanId, `${p}.spanId`)
      return link
    }),
    statusCode: statusCode >= 0 && statusCode <= 2 ? statusCode : 0,
    statusMessage: str(status.message, `${path}.status.message`),
  }
}

function logRecord(l: Json, resource: Resource, scope: Scope, path: string): LogRecord {
  const traceId = id(l.traceId, `${path}.traceId`)
  const spanId = id(l.spanId, `${path}.spanId`)
  if (traceId !== '') checkTraceId(traceId, `${path}.traceId`)
  if (spanId !== '') checkSpanId(spanId, `${path}.spanId`)
  const severity = int(l.severityNumber, `${path}.severityNumber`)
  return {
    resource,
    scope,
    timeNs: nanos(l.timeUnixNano, `${path}.timeUnixNano`),
    observedTimeNs: nanos(l.observedTimeUnixNano, `${path}.observedTimeUnixNano`),
    severityNumber: severity >= 0 && severity <= 24 ? severity : 0,
    severityText: str(l.severityText, `${path}.severityText`),
    body: stringifyValue(anyValue(l.body, `${path}.body`)),
    attributes: attributes(l.attributes, `${path}.attributes`),
    flags: uint32(l.flags, `${path}.flags`),
    traceId,
    spanId,
    eventName: str(l.eventName, `${path}.eventName`),
  }
}

function parse(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'))
  } catch (err) {
    throw new BadRequestError('invalid_json', `request body is not valid JSON: ${(err as Error).message}`)
  }
}

export function decodeTraceJson(body: Buffer): SpanRecord[] {
  return walk(parse(body), { resource: 'resourceSpans', scope: 'scopeSpans', item: 'spans' }, span)
}

export function decodeLogsJson(body: Buffer): LogRecord[] {
  return walk(parse(body), { resource: 'resourceLogs', scope: 'scopeLogs', item: 'logRecords' }, logRecord)
}
