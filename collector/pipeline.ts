import { requireSources } from '../auth/scope.ts'
import type { Config } from '../core/config.ts'
import { BadRequestError } from '../core/errors.ts'
import type { Logger } from '../core/logger.ts'
import type { Redactor } from '../core/privacy.ts'
import type { Store } from '../store/client.ts'
import { storedEventIds } from '../store/queries/events.ts'
import { storedSpanKeys } from '../store/queries/traces.ts'
import { TABLES } from '../store/tables.ts'
import { Admission, type Place } from './admission.ts'
import { TableBatcher, type WriteOutcome } from './batcher.ts'
import type { BusinessEvent } from './cloudevents.ts'
import { type EventRequest, eventRows, type PreparedEvents } from './events/prepare.ts'
import type { LogRequest, PreparedLogs } from './logs/prepare.ts'
import type { CollectorMetrics } from './metrics.ts'
import { joinRows, jsonRows, nativeBlocks } from './row-format.ts'
import { EVENT_COLUMNS, LOG_COLUMNS, SPAN_COLUMNS } from './rows.ts'
import type { PreparedSpans, SpanRequest } from './spans/prepare.ts'
import { ResourceWriter } from './spans/resource-writer.ts'
import { resourcesSize, type SpanResource } from './spans/resources.ts'
import { WrittenTraces } from './spans/written-traces.ts'
import { type RowKey, StoredKeyLookup } from './stored-keys.ts'
import type { IngestPreparer } from './threads/pool.ts'
import { retainedWindow } from './window.ts'

export type Protocol = 'http/protobuf' | 'http/json' | 'grpc' | 'cloudevents'

/** What a sender is told: OTLP's partial success when some items could not be kept. */
export interface IngestResult {
  readonly accepted: number
  readonly rejected: number
  readonly message?: string
  readonly duplicates?: number
  /** Which items (by index in the request) were duplicates, when any were. */
  readonly duplicateItems?: readonly number[]
}

/** An event's key: its source and id, the source's length first so that no two pairs read the same. */
const eventKey = (source: string, id: string): string => `${source.length}:${source}${id}`

function eventOfKey(key: string): { source: string; id: string } {
  const colon = key.indexOf(':')
  const end = colon + 1 + Number(key.slice(0, colon))
  return { source: key.slice(colon + 1, end), id: key.slice(end) }
}

/** A span key's trace id: its first 32 characters (the key is trace id + span id + service). */
const traceIdOf = (key: string) => key.slice(0, 32)

/** The trace ids of a write's span keys; a run of one trace's spans gives its id once. */
function* traceIdsOf(keys: Iterable<string>): Generator<string> {
  let last = ''
  for (const key of keys) {
    if (last.length > 0 && key.startsWith(last)) continue
    last = traceIdOf(key)
    yield last
  }
}

/** The non-empty parts of a message to the sender, joined; undefined when there are none. */
const sentences = (...parts: Array<string | undefined>): string | undefined =>
  parts.filter(Boolean).join('; ') || undefined

/**
 * Records → rows → batched, acknowledged writes, per table. Items whose time is outside the retained
 * window would be dropped by TTL at once; they are refused up front and reported as OTLP partial
 * success, so the sender knows.
 */
export class IngestPipeline {
  private readonly spansBatcher: TableBatcher<Buffer, readonly SpanResource[]>
  private readonly logsBatcher: TableBatcher<string>
  private readonly eventsBatcher: TableBatcher<string>
  private readonly admission: Admission
  /** Fresh traces proved so without the store's lookup, where this process is its one writer. */
  private readonly writtenTraces: WrittenTraces | undefined

  constructor(
    private readonly store: Store,
    private readonly config: Pick<Config, 'ingest' | 'retentionDays'>,
    readonly metrics: CollectorMetrics,
    log: Logger,
    /** Trace requests → blocks and CloudEvents requests → rows, on decoding threads (collector/threads/pool.ts). */
    private readonly preparer: IngestPreparer,
    /**
     * Removes personal data from logs, and from events that do not come through `prepareEvents`
     * (mapped webhooks), before anything is stored (core/privacy.ts).
     */
    private readonly privacy?: Redactor,
  ) {
    // Request bodies being read and decoded: a quarter of what the write queues may hold.
    this.admission = new Admission(
      config.ingest.queueMaxBytes / 4,
      config.ingest.maxWaitMs,
      () => this.backlogMs(),
      preparer.lanes,
      (bytes) => metrics.admittedBytes.set(bytes),
    )
    const resources = new ResourceWriter(store, { metrics })
    // A server may have other collectors writing to it; the embedded engine has only this process.
    this.writtenTraces = store.mode === 'embedded' ? new WrittenTraces(store, log, {}, metrics) : undefined
    void this.writtenTraces?.start()
    const writtenTraces = this.writtenTraces
    const common = {
      maxRows: config.ingest.batchMaxRows,
      maxWaitMs: config.ingest.batchMaxWaitMs,
      maxQueuedRows: config.ingest.queueMaxRows,
      maxQueuedBytes: config.ingest.queueMaxBytes,
      maxAckWaitMs: config.ingest.maxWaitMs,
    }
    this.spansBatcher = new TableBatcher(
      store,
      {
        ...common,
        table: TABLES.spans,
        columns: SPAN_COLUMNS,
        format: nativeBlocks,
        storedKeys: new StoredKeyLookup(
          (keys) => this.lookUpSpanKeys(keys),
          writtenTraces && {
            started: (keys) => writtenTraces.writeStarted(keys, traceIdsOf(keys)),
            ended: (keys) => writtenTraces.writeEnded(keys),
          },
        ),
        // A span is never readable without its resource: a write's new resources go just before it.
        writeFirst: (needs) => resources.store(needs.flat()),
        needsSize: resourcesSize,
      },
      metrics,
      log,
    )
    this.logsBatcher = new TableBatcher(
      store,
      { ...common, table: TABLES.logs, columns: LOG_COLUMNS, format: jsonRows },
      metrics,
      log,
    )
    this.eventsBatcher = new TableBatcher(
      store,
      {
        ...common,
        table: TABLES.events,
        columns: EVENT_COLUMNS,
        format: jsonRows,
        storedKeys: new StoredKeyLookup((keys) => this.storedEventKeys(keys)),
      },
      metrics,
      log,
    )
  }

  /**
   * A trace request: prepared (decoded, checked against the sender's sources, redacted, encoded) on a
   * decoding thread, then queued. `queued` is told once its rows are queued (or it failed before),
   * with how long preparing took, so admission gives its place back and learns the decoding rate.
   */
  async spans(
    request: SpanRequest,
    protocol: Protocol,
    queued: (workMs?: number) => void = () => {},
  ): Promise<IngestResult> {
    let outcome: Promise<WriteOutcome>
    let prepared: PreparedSpans
    let workMs: number | undefined
    try {
      prepared = await this.preparer.prepareSpans(request)
      workMs = prepared.workMs
      this.metrics.received.inc({ signal: 'spans', protocol }, prepared.received)
      const keys = prepared.keyIds.map((id, i) => ({ id, timeNs: prepared.keyTimes[i] as bigint }))
      const { block } = prepared
      outcome = this.spansBatcher.enqueue(
        Buffer.from(block.buffer, block.byteOffset, block.byteLength),
        prepared.kept,
        keys,
        prepared.resources,
      )
    } finally {
      queued(workMs)
    }
    const rejected = prepared.outsideRetention
    if (rejected > 0) this.metrics.rejected.inc({ signal: 'spans', reason: 'outside_retention' }, rejected)
    for (const [kind, n] of Object.entries(prepared.redactions)) this.metrics.redactions.inc({ kind }, n)
    const repaired = this.countRepairs('spans', prepared.surrogates, prepared.truncated)
    const { duplicates } = await outcome
    this.metrics.accepted.inc({ signal: 'spans' }, prepared.kept)
    this.metrics.duplicateSpans.inc(duplicates)
    return {
      accepted: prepared.kept,
      rejected,
      duplicates,
      message: sentences(
        rejected > 0
          ? `${rejected} span(s) start outside the retained window (${this.config.retentionDays.spans} days back, 1 day ahead) and were not stored`
          : '',
        repaired,
      ),
    }
  }

  /** Counts repairs and says them in the sender's partial-success message (rejected stays 0 for them). */
  private countRepairs(signal: 'spans' | 'logs', surrogates: number, truncated: number): string | undefined {
    if (surrogates > 0) this.metrics.repaired.inc({ signal, kind: 'lone_surrogate' }, surrogates)
    if (truncated > 0) this.metrics.repaired.inc({ signal, kind: 'truncated' }, truncated)
    return sentences(
      surrogates > 0 ? `lone UTF-16 surrogates replaced by U+FFFD (${surrogates})` : '',
      truncated > 0
        ? `${truncated} value(s) longer than ${this.config.ingest.maxAttributeLength} characters truncated`
        : '',
    )
  }

  /**
   * A logs request: prepared (decoded, checked against the sender's sources, truncated, redacted,
   * made into rows within the request's bound) on a decoding thread, then queued.
   */
  async logs(
    request: LogRequest,
    protocol: Protocol,
    queued: (workMs?: number) => void = () => {},
  ): Promise<IngestResult> {
    let prepared: PreparedLogs
    let written: Promise<WriteOutcome>
    let workMs: number | undefined
    try {
      prepared = await this.preparer.prepareLogs(request)
      workMs = prepared.workMs
      this.metrics.received.inc({ signal: 'logs', protocol }, prepared.received)
      written = this.logsBatcher.enqueue(prepared.rows, prepared.kept)
    } finally {
      queued(workMs)
    }
    const rejected = prepared.outsideRetention
    if (rejected > 0) this.metrics.rejected.inc({ signal: 'logs', reason: 'outside_retention' }, rejected)
    for (const [kind, n] of Object.entries(prepared.redactions)) this.metrics.redactions.inc({ kind }, n)
    const repaired = this.countRepairs('logs', prepared.surrogates, prepared.truncated)
    await written
    this.metrics.accepted.inc({ signal: 'logs' }, prepared.kept)
    return {
      accepted: prepared.kept,
      rejected,
      message: sentences(
        rejected > 0 ? `${rejected} log record(s) are outside the retained window and were not stored` : '',
        repaired,
      ),
    }
  }

  /**
   * A CloudEvents request parsed, checked against the sender's sources and the contracts, redacted and
   * encoded to rows on a decoding thread. It is queued with `preparedEvents` (after the ContractGate
   * has acted on its verdicts).
   */
  prepareEvents(request: EventRequest): Promise<PreparedEvents> {
    return this.preparer.prepareEvents(request)
  }

  /** Events parsed on this thread (mapped webhooks): checked, redacted and encoded here, then queued. */
  async events(
    events: BusinessEvent[],
    sources?: readonly string[],
    queued: () => void = () => {},
  ): Promise<IngestResult> {
    requireSources(
      sources,
      events.map((e) => e.source),
    )
    return this.queueEvents(events, () => joinRows(eventRows(events, this.privacy)), queued)
  }

  /** A request prepared by `prepareEvents`: its redactions are counted once its rows are to be queued. */
  preparedEvents(
    prepared: PreparedEvents,
    queued: (workMs?: number) => void = () => {},
  ): Promise<IngestResult> {
    return this.queueEvents(
      prepared.events,
      () => {
        for (const [kind, n] of Object.entries(prepared.redactions)) this.metrics.redactions.inc({ kind }, n)
        return prepared.rows
      },
      () => queued(prepared.workMs),
    )
  }

  /** Events are all-or-nothing: a business event is never silently dropped, so one out of range fails the request. */
  private async queueEvents(
    events: readonly Pick<BusinessEvent, 'source' | 'id' | 'timeNs'>[],
    rows: () => string,
    queued: () => void,
  ): Promise<IngestResult> {
    this.metrics.received.inc({ signal: 'events', protocol: 'cloudevents' }, events.length)
    const { oldest, newest } = retainedWindow(Date.now(), this.config.retentionDays.events)
    const outside = events.findIndex((e) => e.timeNs < oldest || e.timeNs > newest)
    if (outside >= 0) {
      this.metrics.rejected.inc({ signal: 'events', reason: 'outside_retention' }, events.length)
      throw new BadRequestError(
        'time_out_of_range',
        `event ${outside} (source '${events[outside]?.source}', id '${events[outside]?.id}'): time is outside the retained window (${this.config.retentionDays.events} days back, 1 day ahead)`,
      )
    }
    const written = this.eventsBatcher.enqueue(
      rows(),
      events.length,
      events.map((e) => ({ id: eventKey(e.source, e.id), timeNs: e.timeNs })),
    )
    queued()
    const outcome = await written
    this.metrics.accepted.inc({ signal: 'events' }, outcome.written)
    this.metrics.duplicates.inc(outcome.duplicates)
    return {
      accepted: outcome.written,
      rejected: 0,
      duplicates: outcome.duplicates,
      duplicateItems: outcome.duplicateRows,
    }
  }

  /** The keys of this batch already stored. */
  private async storedEventKeys(keys: readonly RowKey[]): Promise<ReadonlySet<string>> {
    if (keys.length === 0) return new Set()
    const rows = await storedEventIds(
      this.store,
      keys.map((k) => eventOfKey(k.id)),
    )
    return new Set(rows.map((r) => eventKey(r.source, r.id)))
  }

  /**
   * The spans of this batch already stored: a retried export (after a timeout, a 503, a restart)
   * carries the same spans, and the views on the spans table would count them again. Traces the
   * filter of written traces proves fresh are settled without the store; the rest are asked of the
   * store on the days of their spans' start times.
   */
  private async lookUpSpanKeys(keys: readonly RowKey[]): Promise<ReadonlySet<string>> {
    // Each trace's span times: the filter settles a trace only if its earliest span is within its horizon.
    const spans = new Map<string, { first: bigint; last: bigint }>()
    for (const { id, timeNs } of keys) {
      const trace = traceIdOf(id)
      const times = spans.get(trace)
      if (!times) spans.set(trace, { first: timeNs, last: timeNs })
      else if (timeNs < times.first) times.first = timeNs
      else if (timeNs > times.last) times.last = timeNs
    }
    const asked: string[] = []
    let from = 0n
    let to = 0n
    for (const [trace, { first, last }] of spans) {
      if (this.writtenTraces?.absent(trace, first)) continue
      if (asked.length === 0 || first < from) from = first
      if (asked.length === 0 || last > to) to = last
      asked.push(trace)
    }
    const fresh = spans.size - asked.length
    if (fresh > 0) this.metrics.traceLookups.inc({ via: 'filter' }, fresh)
    if (asked.length === 0) return new Set()
    this.metrics.traceLookups.inc({ via: 'store' }, asked.length)
    return storedSpanKeys(this.store, asked, from, to)
  }

  /**
   * Takes a place for a request holding `bytes` so far (0 before its body is read), or refuses it
   * (429) when it could not be acknowledged in time; the place is charged its body as it arrives and
   * given back once its rows are queued.
   */
  admit(bytes = 0): Place {
    return this.admission.enter(bytes)
  }

  /** The longest predicted wait of the write queues (collector/admission.ts). */
  backlogMs(): number {
    return Math.max(this.spansBatcher.backlogMs, this.logsBatcher.backlogMs, this.eventsBatcher.backlogMs)
  }

  get queuedRows(): number {
    return this.spansBatcher.queuedRows + this.logsBatcher.queuedRows + this.eventsBatcher.queuedRows
  }

  async close(): Promise<void> {
    this.writtenTraces?.close()
    await Promise.all([this.spansBatcher.close(), this.logsBatcher.close(), this.eventsBatcher.close()])
    await this.preparer.close()
  }
}
