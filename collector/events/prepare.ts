import { requireSources } from '../../auth/scope.ts'
import type { ContractBook, ContractViolation } from '../../core/contract-book.ts'
import type { RedactionKind, Redactor } from '../../core/privacy.ts'
import { type BusinessEvent, type EventEntityOf, parseCloudEvents } from '../cloudevents.ts'
import { joinRows } from '../row-format.ts'
import { eventRow } from '../rows.ts'
import { repairLines } from '../well-formed.ts'

/** One `POST /v1/events` request as received. */
export interface EventRequest {
  readonly body: Uint8Array
  /** The request's headers, names lower-cased: the content type and, in binary mode, the `ce-*` attributes. */
  readonly headers: Readonly<Record<string, string>>
  readonly receivedAtMs: number
  /** What the sender's ingestion key may write for (undefined: anything). */
  readonly sources?: readonly string[]
}

/** What the JS thread keeps of each event: its exactly-once key, its time and its contract verdict. */
export interface PreparedEvent {
  readonly source: string
  readonly id: string
  readonly timeNs: bigint
  readonly receivedAtMs: number
  /** How its data breaks its type's contract; undefined when it keeps it or has none. */
  readonly violation?: ContractViolation
  /** With a violation: the data as stored (redacted), cut to an example's length. */
  readonly example?: string
}

/** What an event request becomes: its events' keys and verdicts, and their rows ready to queue. */
export interface PreparedEvents {
  readonly events: readonly PreparedEvent[]
  /** `JSONCompactEachRow` lines of the redacted events, in order, joined (collector/row-format.ts). */
  readonly rows: string
  readonly redactions: Partial<Record<RedactionKind, number>>
  /** Time spent, for admission's estimate of the decode rate. */
  readonly workMs: number
}

/** What preparing events needs besides the request: entity keys, contracts, personal-data rules. */
export interface EventPrepareContext {
  readonly entityOf: EventEntityOf
  /** This thread's copy of the contracts (the collector's ContractGate tells it of new ones). */
  readonly contracts: ContractBook
  readonly privacy?: Redactor
  /** Where `privacy` counts what it redacts (it was made with a counter into this map). */
  readonly redactionCounts: Map<RedactionKind, number>
}

/** An example kept with a violation: enough to see what broke, not a copy of every payload. */
const MAX_EXAMPLE_CHARS = 2048

export const violationExample = (data: string) =>
  data.length > MAX_EXAMPLE_CHARS ? `${data.slice(0, MAX_EXAMPLE_CHARS)}…` : data

/** An event with personal data removed from its data and extensions (core/privacy.ts). */
function redactEvent(e: BusinessEvent, privacy: Redactor): BusinessEvent {
  const p = privacy.forSource(e.source)
  // Bytes are no text to find personal data in: rewriting their base64 would only corrupt them.
  return { ...e, data: e.binary ? e.data : p.jsonText(e.data), extensions: p.attributes(e.extensions) }
}

/** Events as the lines of their rows: redacted when there are rules, entity keys repaired. */
export function eventRows(events: readonly BusinessEvent[], privacy?: Redactor): string[] {
  const lines = (privacy ? events.map((e) => redactEvent(e, privacy)) : events).map(eventRow)
  // Attributes were repaired at parse; the entity keys taken from them are repaired here.
  repairLines(lines)
  return lines
}

/**
 * Parse (structured, binary or batch mode) → scope check → contract check → redaction → row lines.
 * Pure and synchronous: it runs on a decoding thread (collector/threads/pool.ts) or, with none, on the
 * main one. Throws the product's errors (400, 403, 415) for a bad request; a contract violation is
 * returned, not thrown, as the collector's ContractGate decides what it costs and records it.
 * Rows are made even when a contract or the retained window will refuse the request: the JS thread
 * decides that, and counts the redactions only for rows it queues.
 */
export function prepareEvents(request: EventRequest, ctx: EventPrepareContext): PreparedEvents {
  const started = performance.now()
  const body = Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength)
  const events = parseCloudEvents(request.headers, body, request.receivedAtMs, ctx.entityOf)
  requireSources(
    request.sources,
    events.map((e) => e.source),
  )
  const violations = events.map((e) => ctx.contracts.check(e))
  // Synchronous from here to the end: the counts in the map are this request's.
  ctx.redactionCounts.clear()
  const stored = ctx.privacy ? events.map((e) => redactEvent(e, ctx.privacy as Redactor)) : events
  const lines = eventRows(stored)
  return {
    events: events.map((e, i) => {
      const violation = violations[i]
      const key = { source: e.source, id: e.id, timeNs: e.timeNs, receivedAtMs: e.receivedAtMs }
      return violation
        ? { ...key, violation, example: violationExample((stored[i] as BusinessEvent).data) }
        : key
    }),
    rows: joinRows(lines),
    redactions: Object.fromEntries(ctx.redactionCounts),
    workMs: performance.now() - started,
  }
}
