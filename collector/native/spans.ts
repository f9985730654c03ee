import type { EntityKeyAliases } from '../../core/entity-keys.ts'
import { PayloadTooLargeError } from '../../core/errors.ts'
import { type BusinessContext, BusinessKeyFinder } from '../keys.ts'
import type { Attributes, SpanRecord } from '../otlp/model.ts'
import { SPAN_COLUMNS, SPAN_KINDS, STATUS_CODES, spanDuration } from '../rows.ts'
import type { ResourceIds } from '../spans/resources.ts'
import { Bytes, TooLarge } from './bytes.ts'

/*
 * Spans → one block of ClickHouse's Native format: the same column values as the JSON rows the
 * collector wrote before (test/support/span-rows.ts, the reference it is tested against), column after
 * column in the engine's own layout, so the engine copies them instead of parsing JSON text.
 * `npm run bench:insert` measures both on 20,000 realistic spans: under half the time to encode, and
 * the insert with the spans' materialized views in a bit over half the time.
 *
 * A block is a varint column count and row count, then per column its name, its type name and its
 * data. A Native file has no per-column serialization flag (the engine writes none in one and reads
 * none; that byte belongs to the TCP protocol). LowCardinality columns, and the LowCardinality keys of
 * maps, are sent as String: the engine converts on insert (`input_format_native_allow_types_conversion`,
 * on by default). Measured, sending the exact types saves the engine little (a few ms on 20,000 spans,
 * within noise), not worth a dictionary per column here. Nested data is stream after stream: an Array
 * or Map is its cumulative UInt64 offsets for the whole column, then each element (a Tuple member, Map
 * keys, Map values) as a column of its own.
 */

type SpanColumn = (typeof SPAN_COLUMNS)[number]

const enum8 = (names: readonly string[]) => `Enum8(${names.map((n, i) => `'${n}' = ${i}`).join(', ')})`

const MAP = 'Map(String, String)'

/** Map streams (offsets, keys, values) under construction; `count` is the running offset. */
class MapStreams {
  readonly offsets = new Bytes()
  readonly keys = new Bytes()
  readonly values = new Bytes()
  count = 0

  clear(): void {
    this.offsets.clear()
    this.keys.clear()
    this.values.clear()
    this.count = 0
  }

  add(attrs: Attributes): void {
    for (const k in attrs) {
      this.keys.string(k)
      this.values.string(attrs[k] as string)
      this.count++
    }
    this.offsets.uint64(this.count)
  }

  writeTo(out: Bytes): void {
    appendAll(out, [this.offsets, this.keys, this.values])
  }
}

/*
 * The streams of nested columns, written side by side and then appended to the block. Shared by
 * every call (spanBlock is synchronous): fresh buffers would be megabytes of external memory a block,
 * and V8 answers external memory with a full mark-compact every few blocks (seen with --trace-gc).
 */
const scratch = [new Bytes(), new Bytes(), new Bytes(), new Bytes()] as const
/**
 * The block itself is written into one buffer kept between calls, then copied out at its exact size.
 * A fresh buffer a block (realistic spans took about 750 bytes then) was fresh pages to fault in each
 * time: preparing a request of 512 spans costs about 12% less CPU with this (docs/benchmarks.md).
 */
const SCRATCH_BYTES = 1024 * 1024
/** What a decoding thread keeps at most between blocks. */
const MAX_SCRATCH_BYTES = 4 * 1024 * 1024
let blockScratch = new Bytes(SCRATCH_BYTES)
const scratchMap = new MapStreams()

/** The scratch streams, emptied. */
function streams(): typeof scratch {
  for (const b of scratch) b.clear()
  return scratch
}

function appendAll(out: Bytes, parts: readonly Bytes[]): void {
  for (const p of parts) out.bytes(p.view())
}

interface Rows {
  readonly spans: readonly SpanRecord[]
  readonly ctx: readonly BusinessContext[]
  readonly resources: ResourceIds
}

const strings = (out: Bytes, { spans }: Rows, value: (s: SpanRecord) => string) => {
  for (const s of spans) out.string(value(s))
}

const contextStrings = (out: Bytes, { ctx }: Rows, value: (c: BusinessContext) => string) => {
  for (const c of ctx) out.string(value(c))
}

/** Every span column: its type as sent and how its data is written. Keyed by SPAN_COLUMNS, so none is missed. */
const COLUMNS: Record<SpanColumn, readonly [type: string, write: (out: Bytes, rows: Rows) => void]> = {
  timestamp: [
    'DateTime64(9)',
    (out, { spans }) => {
      for (const s of spans) out.int64(s.startNs)
    },
  ],
  trace_id: ['String', (out, rows) => strings(out, rows, (s) => s.traceId)],
  span_id: ['String', (out, rows) => strings(out, rows, (s) => s.spanId)],
  parent_span_id: ['String', (out, rows) => strings(out, rows, (s) => s.parentSpanId)],
  trace_state: ['String', (out, rows) => strings(out, rows, (s) => s.traceState)],
  flags: [
    'UInt32',
    (out, { spans }) => {
      for (const s of spans) out.uint32(s.flags)
    },
  ],
  name: ['String', (out, rows) => strings(out, rows, (s) => s.name)],
  // OTLP numbers are the Enum8 values (decoders map unknown ones to 0), sent as the table's own type.
  kind: [
    enum8(SPAN_KINDS),
    (out, { spans }) => {
      for (const s of spans) out.uint8(s.kind)
    },
  ],
  service_name: ['String', (out, rows) => strings(out, rows, (s) => s.resource.serviceName)],
  scope_name: ['String', (out, rows) => strings(out, rows, (s) => s.scope.name)],
  scope_version: ['String', (out, rows) => strings(out, rows, (s) => s.scope.version)],
  duration_ns: [
    'UInt64',
    (out, { spans }) => {
      for (const s of spans) out.bigUint64(spanDuration(s))
    },
  ],
  status_code: [
    enum8(STATUS_CODES),
    (out, { spans }) => {
      for (const s of spans) out.uint8(s.statusCode)
    },
  ],
  status_message: ['String', (out, rows) => strings(out, rows, (s) => s.statusMessage)],
  connector: ['String', (out, rows) => contextStrings(out, rows, (c) => c.connector)],
  flow: ['String', (out, rows) => contextStrings(out, rows, (c) => c.flow)],
  system: ['String', (out, rows) => contextStrings(out, rows, (c) => c.system)],
  stage: ['String', (out, rows) => contextStrings(out, rows, (c) => c.stage)],
  location: ['String', (out, rows) => contextStrings(out, rows, (c) => c.location)],
  entities: [
    'Array(Tuple(String, String))',
    (out, { ctx }) => {
      const [offsets, types, ids] = streams()
      let count = 0
      for (const c of ctx) {
        for (const [type, id] of c.entities) {
          types.string(type)
          ids.string(id)
        }
        count += c.entities.length
        offsets.uint64(count)
      }
      appendAll(out, [offsets, types, ids])
    },
  ],
  // The resource's attributes are stored once, in span_resources (collector/spans/resources.ts).
  resource_id: [
    'UInt64',
    (out, { spans, resources }) => {
      for (const s of spans) out.bigUint64(resources.of(s.resource))
    },
  ],
  service_version: [
    'String',
    (out, rows) => strings(out, rows, (s) => s.resource.attributes['service.version'] ?? ''),
  ],
  attributes: [
    MAP,
    (out, { spans }) => {
      const m = scratchMap
      m.clear()
      for (const s of spans) m.add(s.attributes)
      m.writeTo(out)
    },
  ],
  events: [
    `Array(Tuple(DateTime64(9), String, ${MAP}))`,
    (out, { spans }) => {
      const [offsets, times, names] = streams()
      const attributes = scratchMap
      attributes.clear()
      let count = 0
      for (const s of spans) {
        for (const e of s.events) {
          times.int64(e.timeNs)
          names.string(e.name)
          attributes.add(e.attributes)
        }
        count += s.events.length
        offsets.uint64(count)
      }
      appendAll(out, [offsets, times, names])
      attributes.writeTo(out)
    },
  ],
  links: [
    `Array(Tuple(String, String, String, ${MAP}))`,
    (out, { spans }) => {
      const [offsets, traceIds, spanIds, traceStates] = streams()
      const attributes = scratchMap
      attributes.clear()
      let count = 0
      for (const s of spans) {
        for (const l of s.links) {
          traceIds.string(l.traceId)
          spanIds.string(l.spanId)
          traceStates.string(l.traceState)
          attributes.add(l.attributes)
        }
        count += s.links.length
        offsets.uint64(count)
      }
      appendAll(out, [offsets, traceIds, spanIds, traceStates])
      attributes.writeTo(out)
    },
  ],
}

/**
 * The spans as one Native block with the columns of SPAN_COLUMNS, in that order:
 * `INSERT INTO spans (SPAN_COLUMNS) FORMAT Native`. `resources` gives each span's resource id and
 * keeps the resources the block names, to be stored in span_resources before it. A copy of exactly
 * its size: the block waits in the write queue, where slack capacity would be memory the queue's
 * byte bound does not see.
 */
export function spanBlock(
  spans: readonly SpanRecord[],
  aliases: EntityKeyAliases,
  resources: ResourceIds,
  /** The largest block to make: past it, the request is refused (413) before more memory is taken. */
  maxBytes = Number.POSITIVE_INFINITY,
): Buffer {
  const keys = new BusinessKeyFinder(aliases, maxBytes)
  const rows: Rows = {
    spans,
    ctx: spans.map((s) => keys.find(s.attributes, s.resource.attributes)),
    resources,
  }
  // Realistic spans take about 500 bytes. A request too large for the kept buffer (the OpenTelemetry
  // Collector's 8,192 spans) gets one of its own, sized for it, as every request did before.
  const need = 1024 + spans.length * 1024
  const out = need <= blockScratch.capacity ? blockScratch : new Bytes(Math.min(need, maxBytes))
  out.clear()
  out.limit = maxBytes
  try {
    out.varint(SPAN_COLUMNS.length)
    out.varint(spans.length)
    for (const name of SPAN_COLUMNS) {
      const [type, write] = COLUMNS[name]
      out.string(name)
      out.string(type)
      write(out, rows)
    }
    return out.copy()
  } catch (err) {
    if (err instanceof TooLarge)
      throw new PayloadTooLargeError(
        maxBytes,
        `the request's ${spans.length} spans take more than ${maxBytes} bytes as rows: send smaller batches, or shorter names and scopes (each span stores its own copy)`,
      )
    throw err
  } finally {
    out.limit = Number.POSITIVE_INFINITY
    // Spans far larger than usual grew it: that memory goes rather than stay between blocks.
    if (out === blockScratch && out.capacity > MAX_SCRATCH_BYTES) blockScratch = new Bytes(SCRATCH_BYTES)
  }
}
