import { Worker } from 'node:worker_threads'
import type { ContractBook } from '../../core/contract-book.ts'
import { RetryableError, SignalboxError } from '../../core/errors.ts'
import type { ContractPolicy, EventContract } from '../../core/event-contracts.ts'
import type { Logger } from '../../core/logger.ts'
import { type EventRequest, type PreparedEvents, prepareEvents } from '../events/prepare.ts'
import { type LogRequest, type PreparedLogs, prepareLogs } from '../logs/prepare.ts'
import { type PreparedSpans, prepareSpans, type SpanRequest } from '../spans/prepare.ts'
import type { PreparerContexts, WorkerSettings } from './contexts.ts'

/** A contract found after start (registered through the api), with its type's policy if one came with it. */
export interface AddedContract {
  readonly contract: EventContract
  readonly policy?: ContractPolicy
}

/**
 * Turns requests into rows ready to queue: trace requests into Native blocks, CloudEvents requests
 * into row text; on worker threads, or inline when there are none.
 */
export interface IngestPreparer {
  /** Decoding threads (1 when inline): how many requests are prepared at once. */
  readonly lanes: number
  prepareSpans(request: SpanRequest): Promise<PreparedSpans>
  prepareLogs(request: LogRequest): Promise<PreparedLogs>
  prepareEvents(request: EventRequest): Promise<PreparedEvents>
  /** Every thread's copy of the contracts learns `added`, before any request sent after this call. */
  addContract(added: AddedContract): void
  close(): Promise<void>
}

/** Adds a contract to a thread's copy of the book; one that will not compile was refused where it was found. */
export function addToBook(book: ContractBook, { contract, policy }: AddedContract): void {
  try {
    book.add(contract)
    if (policy) book.setPolicy(contract.type, policy)
  } catch {
    // The ContractGate that found it logged it and kept it out of its own book too.
  }
}

/** On the calling thread: tests, and machines with one core. */
export function inlinePreparer({ spans, logs, events }: PreparerContexts): IngestPreparer {
  return {
    lanes: 1,
    prepareSpans: async (request) => prepareSpans(request, spans),
    prepareLogs: async (request) => prepareLogs(request, logs),
    prepareEvents: async (request) => prepareEvents(request, events),
    addContract: (added) => addToBook(events.contracts, added),
    close: async () => {},
  }
}

/** An error as it crosses from a worker: the product's errors keep their code and status. */
export interface WorkerError {
  readonly name: string
  readonly message: string
  readonly code?: string
  readonly status?: number
  readonly details?: unknown
}

/** What a worker is sent: a request to prepare, or a contract to add to its book. */
export type WorkerMessage =
  | { readonly id: number; readonly kind: 'spans'; readonly request: SpanRequest }
  | { readonly id: number; readonly kind: 'logs'; readonly request: LogRequest }
  | { readonly id: number; readonly kind: 'events'; readonly request: EventRequest }
  | { readonly contract: AddedContract }

export type WorkerReply =
  | { readonly id: number; readonly prepared: Prepared }
  | { readonly id: number; readonly error: WorkerError }

/** What a thread sends back for a request. */
type Prepared = PreparedSpans | PreparedLogs | PreparedEvents

interface InFlight {
  readonly resolve: (p: Prepared) => void
  readonly reject: (e: Error) => void
}

function revive(e: WorkerError): Error {
  if (e.code === undefined || e.status === undefined) return new Error(e.message)
  const err = new SignalboxError(e.code, e.message, e.status, e.details)
  err.name = e.name
  return err
}

/** Whether `view` is all of its memory, so the memory can be handed to another thread whole. */
export const ownsItsBuffer = (view: ArrayBufferView): boolean =>
  view.byteOffset === 0 && view.byteLength === view.buffer.byteLength

/**
 * A view that owns its memory: `view` itself, or a copy (a pooled or sliced buffer is shared). Not
 * `view.slice()`: on a Buffer that is another view of the same memory, which would then be handed over.
 */
const ownBuffer = (view: Uint8Array): Uint8Array => (ownsItsBuffer(view) ? view : new Uint8Array(view))

class PreparerThread {
  private readonly inFlight = new Map<number, InFlight>()
  private worker: Worker
  private closing = false
  /** Settles when the thread has built its contexts (rules, aliases, contracts) and takes requests. */
  ready: Promise<void>

  constructor(
    private readonly settings: WorkerSettings,
    /** Contracts found since start, in order: a restarted thread is told them again. */
    private readonly added: readonly AddedContract[],
    private readonly log: Logger,
  ) {
    ;[this.worker, this.ready] = this.start()
  }

  get load(): number {
    return this.inFlight.size
  }

  private start(): [Worker, Promise<void>] {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: this.settings })
    // Queued before any request: a thread takes its messages in order.
    for (const contract of this.added) worker.postMessage({ contract } satisfies WorkerMessage)
    let started = false
    const ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (reply: WorkerReply | { readonly ready: true }) => {
        if ('ready' in reply) {
          started = true
          return resolve()
        }
        const waiting = this.inFlight.get(reply.id)
        if (!waiting) return
        this.inFlight.delete(reply.id)
        if ('error' in reply) waiting.reject(revive(reply.error))
        else waiting.resolve(reply.prepared)
      })
      worker.on('error', (err) => {
        if (!started) return reject(new Error(`a decoding thread could not start: ${err.message}`))
        this.log.error({ err }, 'decoding thread failed')
      })
    })
    worker.on('exit', (code) => {
      // A thread that dies takes its requests with it: they were not queued, so their senders retry.
      const lost = [...this.inFlight.values()]
      this.inFlight.clear()
      for (const w of lost)
        w.reject(
          new RetryableError('decoder_restarted', 'the collector restarted a decoding thread; retry', 1),
        )
      // One that never started would fail again: startup reports it instead of a restart loop.
      if (this.closing || !started) return
      this.log.warn({ code, requests: lost.length }, 'decoding thread exited; starting another')
      ;[this.worker, this.ready] = this.start()
      this.ready.catch((err) => this.log.error({ err }, 'decoding thread could not restart'))
    })
    return [worker, ready]
  }

  prepare(
    id: number,
    message:
      | { kind: 'spans'; request: SpanRequest }
      | { kind: 'logs'; request: LogRequest }
      | { kind: 'events'; request: EventRequest },
  ): Promise<Prepared> {
    const body = ownBuffer(message.request.body)
    return new Promise((resolve, reject) => {
      this.inFlight.set(id, { resolve, reject })
      this.worker.postMessage({ id, ...message, request: { ...message.request, body } } as WorkerMessage, [
        body.buffer as ArrayBuffer,
      ])
    })
  }

  addContract(added: AddedContract): void {
    this.worker.postMessage({ contract: added } satisfies WorkerMessage)
  }

  async close(): Promise<void> {
    this.closing = true
    await this.worker.terminate()
  }
}

/**
 * Requests decoded, checked, redacted and encoded on worker threads, so the JS thread that answers
 * senders and runs the writes is never held by a burst of large batches or one large hostile value.
 * Trace, logs and CloudEvents requests share the threads. A request goes to the thread with the fewest in
 * flight; the body is handed over, not copied, when it owns its memory.
 */
export class WorkerPreparer implements IngestPreparer {
  private nextId = 0
  private readonly added: AddedContract[] = []
  private readonly threads: readonly PreparerThread[]

  private constructor(settings: WorkerSettings, count: number, log: Logger) {
    this.threads = Array.from({ length: count }, () => new PreparerThread(settings, this.added, log))
  }

  /** `count` threads, each ready to take requests; fails when one cannot start. */
  static async start(count: number, settings: WorkerSettings, log: Logger): Promise<WorkerPreparer> {
    const preparer = new WorkerPreparer(settings, count, log)
    try {
      await Promise.all(preparer.threads.map((t) => t.ready))
    } catch (err) {
      await preparer.close()
      throw err
    }
    return preparer
  }

  get lanes(): number {
    return this.threads.length
  }

  private leastLoaded(): PreparerThread {
    let least = this.threads[0] as PreparerThread
    for (const t of this.threads) if (t.load < least.load) least = t
    return least
  }

  prepareSpans(request: SpanRequest): Promise<PreparedSpans> {
    return this.leastLoaded().prepare(this.nextId++, { kind: 'spans', request }) as Promise<PreparedSpans>
  }

  prepareLogs(request: LogRequest): Promise<PreparedLogs> {
    return this.leastLoaded().prepare(this.nextId++, { kind: 'logs', request }) as Promise<PreparedLogs>
  }

  prepareEvents(request: EventRequest): Promise<PreparedEvents> {
    return this.leastLoaded().prepare(this.nextId++, { kind: 'events', request }) as Promise<PreparedEvents>
  }

  addContract(added: AddedContract): void {
    this.added.push(added)
    for (const t of this.threads) t.addContract(added)
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.close()))
  }
}
