import { runEvery } from '../core/background.ts'
import { ContractBook, type ContractViolation } from '../core/contract-book.ts'
import type { JsonSchema } from '../core/contract-schema.ts'
import { BadRequestError } from '../core/errors.ts'
import { CONTRACT_POLICIES, type ContractPolicy, type ContractSet } from '../core/event-contracts.ts'
import type { Logger } from '../core/logger.ts'
import type { Store } from '../store/client.ts'
import {
  recordViolations,
  registeredContracts,
  type ViolationRecord,
} from '../store/queries/event-contracts.ts'
import type { BusinessEvent } from './cloudevents.ts'
import { type PreparedEvent, violationExample } from './events/prepare.ts'
import type { CollectorMetrics } from './metrics.ts'
import type { AddedContract } from './threads/pool.ts'

/** How often contracts registered through the api are looked for (the api may run in another process). */
const REFRESH_MS = 10_000
/** Sources named in `/metrics` per type before the rest count as `other`: senders choose their source. */
const MAX_SOURCE_LABELS = 200

/** A warned event's violation, kept until the event is written. */
export interface Warned {
  readonly event: PreparedEvent
  readonly violation: ContractViolation
  /** The event's place in its request. */
  readonly index: number
}

/**
 * Acts on each event's check against its type's contract (docs/event-contracts.md) before it is
 * queued. A `reject` violation refuses the whole request (400 naming the event and the JSON path) and
 * nothing of it is written but the record of the refusal; `warn` violations are recorded once their
 * events are written. The data is checked where the request is prepared (collector/events/prepare.ts,
 * on the decoding threads), against a copy of this book: the gate tells the copies of each contract it
 * finds registered in the store.
 */
export class ContractGate {
  private readonly book: ContractBook
  private readonly sourceLabels = new Map<string, Set<string>>()
  private stopRefresh: (() => Promise<void>) | undefined
  private readonly followers: Array<(added: AddedContract) => void> = []

  constructor(
    set: ContractSet,
    private readonly store: Store,
    private readonly metrics: CollectorMetrics,
    private readonly log: Logger,
  ) {
    this.book = new ContractBook(set)
  }

  /** Tells `follower` of every contract found from now on (call before `start`). */
  follow(follower: (added: AddedContract) => void): void {
    this.followers.push(follower)
  }

  /** Reads the contracts registered through the api, now and every few seconds. */
  start(): void {
    this.stopRefresh = runEvery(() => this.refresh(), {
      everyMs: REFRESH_MS,
      log: this.log,
      failure: 'reading registered event contracts failed',
    })
  }

  async refresh(): Promise<void> {
    for (const row of await registeredContracts(this.store)) {
      if (this.book.contract(row.type, row.version)) continue
      try {
        const contract = {
          type: row.type,
          version: row.version,
          schema: JSON.parse(row.schema) as JsonSchema,
          origin: 'api' as const,
        }
        this.book.add(contract)
        const policy = (CONTRACT_POLICIES as readonly string[]).includes(row.policy)
          ? (row.policy as ContractPolicy)
          : undefined
        if (policy) this.book.setPolicy(row.type, policy)
        for (const follow of this.followers) follow({ contract, policy })
      } catch (err) {
        // The api compiled it before storing it; one that no longer compiles is skipped, not fatal.
        this.log.warn(
          { err, type: row.type, version: row.version },
          'a registered event contract does not compile',
        )
      }
    }
  }

  /**
   * Events parsed on this thread (mapped webhooks) with their verdicts, as a decoding thread gives
   * them for posted events; `stored` is an event's data as it will be stored (redacted).
   */
  judge(events: readonly BusinessEvent[], stored: (e: BusinessEvent) => string): PreparedEvent[] {
    return events.map((e) => {
      const key = { source: e.source, id: e.id, timeNs: e.timeNs, receivedAtMs: e.receivedAtMs }
      const violation = this.book.check(e)
      return violation ? { ...key, violation, example: violationExample(stored(e)) } : key
    })
  }

  /** The warned violations of `events`; throws when one breaks a `reject` contract. */
  async check(events: readonly PreparedEvent[]): Promise<Warned[]> {
    const warned: Warned[] = []
    for (const [i, event] of events.entries()) {
      const { violation } = event
      if (!violation) continue
      if (violation.policy === 'warn') {
        warned.push({ event, violation, index: i })
        continue
      }
      this.count(event, violation, 'rejected')
      await this.record([{ event, violation, index: i }], false)
      const at = events.length > 1 ? `events[${i}]` : 'event'
      throw new BadRequestError(
        'contract_violation',
        `${at} (source '${event.source}', id '${event.id}'): data${violation.path.slice(1)} ${violation.message} ` +
          `(contract ${violation.type} version ${violation.version})`,
        {
          type: violation.type,
          version: violation.version,
          path: violation.path,
          message: violation.message,
        },
      )
    }
    return warned
  }

  /**
   * Counts and records the violations of events that were written: not of `duplicates` (indexes in
   * the request), already written and counted when they first came.
   */
  async written(warned: readonly Warned[], duplicates: readonly number[] = []): Promise<void> {
    const dropped = new Set(duplicates)
    const fresh = warned.filter((w) => !dropped.has(w.index))
    if (fresh.length === 0) return
    for (const w of fresh) this.count(w.event, w.violation, 'stored')
    await this.record(fresh, true)
  }

  private count(event: PreparedEvent, v: ContractViolation, outcome: 'stored' | 'rejected'): void {
    const sources = this.sourceLabels.get(v.type) ?? new Set<string>()
    this.sourceLabels.set(v.type, sources)
    if (!sources.has(event.source) && sources.size < MAX_SOURCE_LABELS) sources.add(event.source)
    const source = sources.has(event.source) ? event.source : 'other'
    // Senders choose the version they declare: only registered ones are named.
    const version = this.book.contract(v.type, v.version) ? v.version : 'unregistered'
    this.metrics.contractViolations.inc({ type: v.type, version, source, outcome })
  }

  private async record(warned: readonly Warned[], withExample: boolean): Promise<void> {
    const rows: ViolationRecord[] = warned.map(({ event, violation }) => ({
      atMs: event.receivedAtMs,
      type: violation.type,
      version: violation.version,
      source: event.source,
      eventId: event.id,
      policy: violation.policy,
      path: violation.path,
      message: violation.message,
      // The stored event's data, redacted; a refused event's data is kept nowhere.
      example: withExample ? (event.example ?? '') : '',
    }))
    try {
      await recordViolations(this.store, rows)
    } catch (err) {
      // The events themselves are written (or refused) either way; the count is in /metrics.
      this.log.warn({ err }, 'recording event contract violations failed')
    }
  }

  async close(): Promise<void> {
    await this.stopRefresh?.()
  }
}
