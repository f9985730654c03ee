import { type CloudEvent, HTTP } from 'cloudevents'
import { BadRequestError } from '../core/errors.ts'
import {
  type EntityType,
  EVENT_TYPE_PREFIX_ENTITY,
  KEY_EXTENSIONS,
  LOCATION_EXTENSION,
} from '../core/vocabulary.ts'
import type { BusinessContext } from './keys.ts'
import { MAX_NESTING_DEPTH, tooDeep } from './otlp/limits.ts'
import { wellFormed } from './well-formed.ts'

/** A CloudEvent as stored: the attributes, the data as text and the business keys it carries. */
export interface BusinessEvent {
  readonly timeNs: bigint
  readonly receivedAtMs: number
  readonly type: string
  readonly subject: string
  readonly source: string
  readonly id: string
  readonly specversion: string
  readonly datacontenttype: string
  readonly dataschema: string
  readonly data: string
  readonly extensions: Record<string, string>
  readonly traceId: string
  readonly spanId: string
  readonly context: BusinessContext
}

const CORE_ATTRIBUTES = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
  'data',
  'data_base64',
])
const MAX_ATTRIBUTE_LENGTH = 1024
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/

/**
 * RFC 3339 time → exact nanoseconds since the epoch (Date keeps only milliseconds, CloudEvents
 * producers may send nanoseconds).
 */
export function rfc3339ToNanos(time: string, path: string): bigint {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(time)
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : Number.NaN
  if (!m || Number.isNaN(ms))
    throw new BadRequestError(
      'invalid_cloudevent',
      `${path}.time: '${time.slice(0, 64)}' is not an RFC 3339 timestamp`,
    )
  const fraction = (m[2] ?? '').padEnd(9, '0')
  return BigInt(ms) * 1_000_000n + BigInt(fraction)
}

function dataText(e: CloudEvent<unknown>): string {
  if (e.data_base64 !== undefined) return String(e.data_base64)
  const d = e.data
  if (d === undefined || d === null) return ''
  if (typeof d === 'string') return d
  if (Buffer.isBuffer(d) || d instanceof Uint8Array) return Buffer.from(d).toString('base64')
  return JSON.stringify(d)
}

function dataField(e: CloudEvent<unknown>, key: string): string {
  const d = e.data
  if (d && typeof d === 'object' && !Buffer.isBuffer(d)) {
    const v = (d as Record<string, unknown>)[key]
    if (typeof v === 'string' || typeof v === 'number') return String(v)
  }
  return ''
}

/** The entity an event is about: its type prefix names the kind, its subject (or an extension) the id. */
function eventContext(e: CloudEvent<unknown>, extensions: Record<string, string>): BusinessContext {
  const entities: Array<[EntityType, string]> = []
  const add = (type: EntityType, id: string | undefined) => {
    if (id && !entities.some(([t, i]) => t === type && i === id)) entities.push([type, id])
  }
  const byPrefix = EVENT_TYPE_PREFIX_ENTITY.find(([prefix]) => e.type.startsWith(prefix))?.[1]
  if (byPrefix && e.subject) add(byPrefix, e.subject)
  for (const [type, ext] of Object.entries(KEY_EXTENSIONS) as Array<[EntityType, string]>)
    add(type, extensions[ext])
  if (byPrefix === 'sku') add('sku', dataField(e, 'sku'))
  return {
    entities,
    location: extensions[LOCATION_EXTENSION] ?? dataField(e, 'location'),
    connector: extensions.connector ?? '',
    flow: extensions.flow ?? '',
    system: extensions.system ?? '',
    stage: '',
  }
}

/**
 * What the producer actually sent. The SDK invents a missing id, rounds time to milliseconds and, for
 * a single event, lets a missing source or type through; exactly-once and the entity keys need the
 * producer's own values, so the required attributes are checked here.
 */
interface RawAttributes {
  readonly specversion?: unknown
  readonly id?: unknown
  readonly source?: unknown
  readonly type?: unknown
  readonly time?: unknown
}

const REQUIRED = ['specversion', 'id', 'source', 'type'] as const
const SPEC_VERSION = '1.0'
/** Event data is a business document: deeper than attribute values, still nowhere near thousands. */
const MAX_DATA_DEPTH = 2 * MAX_NESTING_DEPTH

function rawAttributes(headers: Record<string, string>, body: Buffer): RawAttributes[] {
  const contentType = headers['content-type'] ?? ''
  if (headers['ce-specversion'] === undefined && contentType.startsWith('application/cloudevents')) {
    const parsed: unknown = JSON.parse(body.toString('utf8'))
    const batch = contentType.startsWith('application/cloudevents-batch')
    if (batch !== Array.isArray(parsed))
      throw new BadRequestError(
        'invalid_cloudevent',
        batch
          ? 'a batch (application/cloudevents-batch+json) must be a JSON array of events'
          : 'a structured event (application/cloudevents+json) must be a JSON object; send an array as application/cloudevents-batch+json',
      )
    return (batch ? parsed : [parsed]) as RawAttributes[]
  }
  const h = (name: string) => headers[`ce-${name}`]
  return [
    { specversion: h('specversion'), id: h('id'), source: h('source'), type: h('type'), time: h('time') },
  ]
}

function checkRequired(raw: RawAttributes, path: string): void {
  if (raw === null || typeof raw !== 'object')
    throw new BadRequestError('invalid_cloudevent', `${path}: must be a JSON object`)
  for (const attr of REQUIRED) {
    const v = raw[attr]
    if (typeof v !== 'string' || v === '') {
      throw new BadRequestError(
        'invalid_cloudevent',
        `${path}: required attribute '${attr}' is missing or empty`,
      )
    }
  }
  if (raw.specversion !== SPEC_VERSION)
    throw new BadRequestError(
      'invalid_cloudevent',
      `${path}.specversion: '${String(raw.specversion).slice(0, 16)}' is not supported; send CloudEvents ${SPEC_VERSION}`,
    )
}

/** How deep event data nests, without recursion: a deep document must not cost the stack. */
function nestingDepth(value: unknown): number {
  let deepest = 0
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number]
    if (v === null || typeof v !== 'object') continue
    if (depth > deepest) deepest = depth
    if (deepest > MAX_DATA_DEPTH) return deepest
    for (const child of Object.values(v)) stack.push([child, depth + 1])
  }
  return deepest
}

function toBusinessEvent(
  e: CloudEvent<unknown>,
  raw: RawAttributes,
  receivedAtMs: number,
  path: string,
): BusinessEvent {
  for (const attr of ['id', 'source', 'type', 'subject'] as const) {
    const v = e[attr]
    if (typeof v === 'string' && v.length > MAX_ATTRIBUTE_LENGTH) {
      throw new BadRequestError(
        'invalid_cloudevent',
        `${path}.${attr}: longer than ${MAX_ATTRIBUTE_LENGTH} characters`,
      )
    }
  }
  if (nestingDepth(e.data) > MAX_DATA_DEPTH) tooDeep(`${path}.data`)
  const extensions: Record<string, string> = {}
  for (const [k, v] of Object.entries(e)) {
    if (!CORE_ATTRIBUTES.has(k) && v !== undefined && v !== null)
      extensions[k] = typeof v === 'string' ? wellFormed(v) : JSON.stringify(v)
  }
  const tp = extensions.traceparent ? TRACEPARENT.exec(extensions.traceparent) : null
  return {
    // The SDK rounds time to milliseconds; the producer's string keeps its full precision.
    timeNs: typeof raw.time === 'string' ? rfc3339ToNanos(raw.time, path) : BigInt(receivedAtMs) * 1_000_000n,
    receivedAtMs,
    // Lone surrogates (valid JSON, refused by the engine) become U+FFFD, as OTLP repairs text.
    type: wellFormed(e.type),
    subject: wellFormed(e.subject ?? ''),
    source: wellFormed(e.source),
    id: wellFormed(e.id),
    specversion: e.specversion,
    datacontenttype: wellFormed(e.datacontenttype ?? ''),
    dataschema: wellFormed(e.dataschema ?? ''),
    data: wellFormed(dataText(e)),
    extensions,
    traceId: tp?.[1] ?? '',
    spanId: tp?.[2] ?? '',
    context: eventContext(e, extensions),
  }
}

/**
 * Parses a CloudEvents HTTP request in structured, binary or batch mode with the CloudEvents SDK,
 * which enforces the required attributes (id, source, type, specversion).
 */
export function parseCloudEvents(
  headers: Record<string, string>,
  body: Buffer,
  receivedAtMs = Date.now(),
): BusinessEvent[] {
  const invalid = (err: unknown) =>
    err instanceof BadRequestError
      ? err
      : new BadRequestError('invalid_cloudevent', `not a valid CloudEvent: ${describe(err)}`)
  let raw: RawAttributes[]
  try {
    raw = rawAttributes(headers, body)
  } catch (err) {
    throw invalid(err)
  }
  const batch = (headers['content-type'] ?? '').startsWith('application/cloudevents-batch')
  const path = (i: number) => (batch ? `events[${i}]` : 'event')
  if (raw.length === 0) throw new BadRequestError('invalid_cloudevent', 'the batch holds no events')
  // Validate all before converting any: a bad event anywhere refuses the whole request.
  for (const [i, r] of raw.entries()) checkRequired(r, path(i))
  let events: CloudEvent<unknown>[]
  try {
    const parsed = HTTP.toEvent<unknown>({ headers, body: body.toString('utf8') }) as
      | CloudEvent<unknown>
      | CloudEvent<unknown>[]
    events = Array.isArray(parsed) ? parsed : [parsed]
  } catch (err) {
    throw invalid(err)
  }
  return events.map((e, i) => toBusinessEvent(e, raw[i] ?? {}, receivedAtMs, path(i)))
}

/** The SDK's validation errors carry JSON-schema details; say them plainly. */
function describe(err: unknown): string {
  const errors = (err as { errors?: Array<{ message?: string; instancePath?: string }> }).errors
  const details = (errors ?? []).map((e) => `${e.instancePath || 'event'} ${e.message ?? ''}`.trim())
  const message = ((err as { message?: string }).message ?? String(err)).split('\n')[0] ?? ''
  return details.length > 0 ? `${message}: ${details.join('; ')}` : message
}
