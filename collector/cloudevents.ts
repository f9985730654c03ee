import { CloudEvent, type CloudEventV1, HTTP, ValidationError } from 'cloudevents'
import { BadRequestError, UnsupportedMediaTypeError } from '../core/errors.ts'
import { builtInEventEntityOf } from '../core/flows.ts'
import { type EntityType, KEY_EXTENSIONS, LOCATION_EXTENSION } from '../core/vocabulary.ts'
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
  /** `data` is bytes in base64 (data_base64, or a binary-mode body that is not text): not to be read as text. */
  readonly binary?: boolean
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
const MAX_EXTENSION_LENGTH = 16 * 1024
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/

/**
 * RFC 3339 time → exact nanoseconds since the epoch (Date keeps only milliseconds, CloudEvents
 * producers may send nanoseconds).
 */
function rfc3339ToNanos(time: string, path: string): bigint {
  const m = /^((\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(time)
  const ms = m ? Date.parse(`${m[1]}${m[6]}`) : Number.NaN
  // Date.parse rolls an impossible day over (2026-02-30 is 2 March): the day must be in its month.
  const daysInMonth = m ? new Date(Date.UTC(Number(m[2]), Number(m[3]), 0)).getUTCDate() : 0
  if (!m || Number.isNaN(ms) || Number(m[4]) < 1 || Number(m[4]) > daysInMonth)
    throw new BadRequestError(
      'invalid_cloudevent',
      `${path}.time: '${time.slice(0, 64)}' is not an RFC 3339 timestamp`,
    )
  const fraction = (m[5] ?? '').padEnd(9, '0')
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

/** Which entity an event type is about (core/flows.ts `eventEntityOf`), undefined for none. */
export type EventEntityOf = (type: string) => string | undefined

/** The entity an event is about: its type names the kind, its subject (or an extension) the id. */
function eventContext(
  e: CloudEvent<unknown>,
  extensions: Record<string, string>,
  entityOf: EventEntityOf,
): BusinessContext {
  const entities: Array<[string, string]> = []
  const add = (type: string, id: string | undefined) => {
    if (id && !entities.some(([t, i]) => t === type && i === id)) entities.push([type, id])
  }
  const byPrefix = entityOf(e.type)
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
 * producer's own values, so the attributes are checked here, each error naming where it is.
 */
interface RawAttributes {
  readonly specversion?: unknown
  readonly id?: unknown
  readonly source?: unknown
  readonly type?: unknown
  readonly time?: unknown
  readonly [attribute: string]: unknown
}

const REQUIRED = ['specversion', 'id', 'source', 'type'] as const
/** Optional attributes that are strings when present (extensions may be any JSON value). */
const OPTIONAL_STRINGS = ['subject', 'time', 'datacontenttype', 'dataschema', 'data_base64'] as const
const SPEC_VERSION = '1.0'
/** Event data is a business document: deeper than attribute values, still nowhere near thousands. */
const MAX_DATA_DEPTH = 2 * MAX_NESTING_DEPTH

export type CloudEventsMode = 'binary' | 'structured' | 'batch'
const STRUCTURED = 'application/cloudevents+json'
const BATCH = 'application/cloudevents-batch+json'

/**
 * The HTTP binding's mode, decided once from the media type (HTTP binding 3.1: a structured content
 * type wins over ce-* headers); undefined when the request is no CloudEvent the collector reads.
 */
export function cloudEventsMode(
  mediaType: string,
  hasSpecVersionHeader: boolean,
): CloudEventsMode | undefined {
  if (mediaType === STRUCTURED) return 'structured'
  if (mediaType === BATCH) return 'batch'
  if (mediaType.startsWith('application/cloudevents')) return undefined // another event format
  return hasSpecVersionHeader ? 'binary' : undefined
}

const invalid = (message: string) => new BadRequestError('invalid_cloudevent', message)

/** Media types whose bodies are text: JSON (`+json` too), XML, `text/*`, and a body with no type. */
const isText = (media: string): boolean =>
  media === '' ||
  media.startsWith('text/') ||
  /[/+](json|xml)$/.test(media) ||
  media === 'application/x-www-form-urlencoded'

function parseJsonBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'))
  } catch (err) {
    throw new BadRequestError('invalid_json', `the body is not valid JSON: ${(err as Error).message}`)
  }
}

/**
 * Binary mode's `ce-*` header values as the producer meant them: the HTTP binding percent-encodes
 * (UTF-8) what a header cannot carry, and the SDK does not decode it. A value that does not decode
 * (a literal `%`, which the JS SDK sends unencoded) is kept as it came.
 */
function percentDecoded(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('ce-') || !value.includes('%')) {
      out[name] = value
      continue
    }
    try {
      out[name] = decodeURIComponent(value)
    } catch {
      out[name] = value
    }
  }
  return out
}

function rawAttributes(mode: CloudEventsMode, headers: Record<string, string>, parsed: unknown): unknown[] {
  if (mode === 'binary') {
    const h = (name: string) => headers[`ce-${name}`]
    const attributes = ['specversion', 'id', 'source', 'type', ...OPTIONAL_STRINGS]
    return [Object.fromEntries(attributes.map((a) => [a, h(a)]))]
  }
  if ((mode === 'batch') !== Array.isArray(parsed))
    throw invalid(
      mode === 'batch'
        ? `a batch (${BATCH}) must be a JSON array of events`
        : `a structured event (${STRUCTURED}) must be a JSON object; send an array as ${BATCH}`,
    )
  return mode === 'batch' ? (parsed as unknown[]) : [parsed]
}

function checkAttributes(value: unknown, path: string): asserts value is RawAttributes {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalid(`${path}: must be a JSON object`)
  const raw = value as RawAttributes
  for (const attr of REQUIRED) {
    const v = raw[attr]
    if (typeof v !== 'string' || v === '')
      throw invalid(`${path}: required attribute '${attr}' is missing or empty`)
  }
  if (raw.specversion !== SPEC_VERSION)
    throw invalid(
      `${path}.specversion: '${String(raw.specversion).slice(0, 16)}' is not supported; send CloudEvents ${SPEC_VERSION}`,
    )
  for (const attr of OPTIONAL_STRINGS) {
    const v = raw[attr]
    if (v !== undefined && v !== null && typeof v !== 'string')
      throw invalid(`${path}.${attr}: must be a string, not ${Array.isArray(v) ? 'an array' : typeof v}`)
  }
  if (typeof raw.time === 'string') rfc3339ToNanos(raw.time, path)
  if (raw.data !== undefined && raw.data_base64 !== undefined)
    throw invalid(`${path}: carries both data and data_base64; send one`)
  for (const [name, v] of Object.entries(raw)) {
    // The CloudEvents type system: an extension is a string, an integer, a boolean (or one of their
    // string forms), never a document; one nested thousands deep would cost the stack.
    if (!CORE_ATTRIBUTES.has(name) && v !== null && typeof v === 'object')
      throw invalid(`${path}.${name}: an extension attribute is a string, a number or a boolean`)
  }
}

/** How deep event data nests, without recursion: a deep document must not cost the stack. */
function nestingDepth(value: unknown): number {
  let deepest = 0
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number]
    // Bytes (data_base64 as the SDK reads it) are data, not a document to walk.
    if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) continue
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
  entityOf: EventEntityOf,
): BusinessEvent {
  for (const attr of ['id', 'source', 'type', 'subject', 'datacontenttype', 'dataschema'] as const) {
    const v = e[attr]
    if (typeof v === 'string' && v.length > MAX_ATTRIBUTE_LENGTH) {
      throw new BadRequestError(
        'invalid_cloudevent',
        `${path}.${attr}: longer than ${MAX_ATTRIBUTE_LENGTH} characters`,
      )
    }
  }
  if (nestingDepth(e.data) > MAX_DATA_DEPTH) tooDeep(`${path}.data`, MAX_DATA_DEPTH)
  const extensions: Record<string, string> = {}
  for (const [k, v] of Object.entries(e)) {
    if (CORE_ATTRIBUTES.has(k) || v === undefined || v === null) continue
    const text = typeof v === 'string' ? wellFormed(v) : JSON.stringify(v)
    // Extensions are stored with every event and read on every lifecycle: a label, not a document.
    if (text.length > MAX_EXTENSION_LENGTH)
      throw invalid(`${path}.${k}: an extension value longer than ${MAX_EXTENSION_LENGTH} characters`)
    extensions[k] = text
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
    binary: e.data_base64 !== undefined || e.data instanceof Uint8Array,
    extensions,
    traceId: tp?.[1] ?? '',
    spanId: tp?.[2] ?? '',
    context: eventContext(e, extensions, entityOf),
  }
}

/**
 * Parses a CloudEvents HTTP request in structured, binary or batch mode. Every attribute is checked
 * here first, so the CloudEvents SDK, which then reads the HTTP binding, only ever meets the mode this
 * code decided and events it can hold; whatever it still refuses is said in the product's words.
 */
export function parseCloudEvents(
  headers: Record<string, string>,
  body: Buffer,
  receivedAtMs = Date.now(),
  entityOf: EventEntityOf = builtInEventEntityOf,
): BusinessEvent[] {
  const media = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  const mode = cloudEventsMode(media, headers['ce-specversion'] !== undefined)
  if (!mode)
    throw new UnsupportedMediaTypeError(media, [
      STRUCTURED,
      BATCH,
      'any type with ce-* headers (binary mode)',
    ])
  if (mode === 'binary') headers = percentDecoded(headers)
  const raw = rawAttributes(mode, headers, mode === 'binary' ? undefined : parseJsonBody(body))
  const path = (i: number) => (mode === 'batch' ? `events[${i}]` : 'event')
  if (raw.length === 0) throw invalid('the batch holds no events')
  // Validate all before converting any: a bad event anywhere refuses the whole request.
  raw.forEach((r, i) => {
    checkAttributes(r, path(i))
  })
  const checked = raw as RawAttributes[]
  const events = checked.map((r, i) => {
    try {
      // The batch binding is the strict constructor per element; here each keeps its index.
      if (mode === 'batch') return new CloudEvent<unknown>(r as CloudEventV1<unknown>)
      // The SDK reads the mode from the content type: give it the one decided here.
      const sdkHeaders = mode === 'binary' ? headers : { ...headers, 'content-type': media }
      const event = HTTP.toEvent<unknown>({
        headers: sdkHeaders,
        // A binary-mode body that is not text is bytes: stored as base64, like data_base64.
        body: mode === 'binary' && !isText(media) ? body : body.toString('utf8'),
      }) as CloudEvent<unknown>
      // The binding reads loosely; an event is held to the same schema whichever mode it came in.
      event.validate()
      return event
    } catch (err) {
      throw sdkRefusal(err, path(i), mode, headers['content-type'] ?? '')
    }
  })
  return events.map((e, i) => toBusinessEvent(e, checked[i] ?? {}, receivedAtMs, path(i), entityOf))
}

/** What the SDK refused, in the product's words: its schema errors by attribute, never its internals. */
function sdkRefusal(err: unknown, path: string, mode: CloudEventsMode, contentType: string): BadRequestError {
  if (mode === 'binary' && err instanceof SyntaxError)
    return invalid(
      `${path}.data: the body is not valid JSON, as its content type '${contentType.slice(0, 100)}' says`,
    )
  if (err instanceof ValidationError) {
    const details = (err.errors ?? []) as Array<{ message?: string; instancePath?: string } | string>
    const said = details
      .filter((d): d is { message?: string; instancePath?: string } => typeof d === 'object' && d !== null)
      .map((d) => `${path}${(d.instancePath ?? '').replaceAll('/', '.')}: ${d.message ?? 'is not valid'}`)
    if (said.length > 0) return invalid(said.join('; '))
    const first = (err.message.split('\n')[0] ?? '').slice(0, 200)
    return invalid(`${path}: ${first || 'is not a valid CloudEvent'}`)
  }
  return invalid(`${path}: is not a CloudEvent ${SPEC_VERSION} the collector can read`)
}
