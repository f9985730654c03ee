import { Worker } from 'node:worker_threads'
import { RetryableError, SignalboxError } from '../../core/errors.ts'
import type { Logger } from '../../core/logger.ts'
import { type PrepareContext, type PreparedSpans, prepareSpans, type SpanRequest } from './prepare.ts'

/** Turns span requests into blocks ready to queue: on worker threads, or inline when there are none. */
export interface SpanPreparer {
  /** Decoding threads (1 when inline): how many requests are prepared at once. */
  readonly lanes: number
  prepare(request: SpanRequest): Promise<PreparedSpans>
  close(): Promise<void>
}

/** On the calling thread: tests, and machines with one core. */
export function inlinePreparer(ctx: PrepareContext): SpanPreparer {
  return {
    lanes: 1,
    prepare: async (request) => prepareSpans(request, ctx),
    close: async () => {},
  }
}

/** What a worker is started with (structured-cloned): it builds its own context from it. */
export interface WorkerSettings {
  readonly retentionDays: number
  readonly maxAttributeLength: number
  readonly configDir: string
  /** Keys the searchable hashes; undefined: no redaction. */
  readonly hashKey?: string
}

/** An error as it crosses from a worker: the product's errors keep their code and status. */
export interface WorkerError {
  readonly name: string
  readonly message: string
  readonly code?: string
  readonly status?: number
  readonly details?: unknown
}

export type WorkerReply =
  | { readonly id: number; readonly prepared: PreparedSpans }
  | { readonly id: number; readonly error: WorkerError }

interface InFlight {
  readonly resolve: (p: PreparedSpans) => void
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

/** A view that owns its memory: `view` itself, or a copy (a pooled or sliced buffer is shared). */
const ownBuffer = (view: Uint8Array): Uint8Array => (ownsItsBuffer(view) ? view : view.slice())

class PreparerThread {
  private readonly inFlight = new Map<number, InFlight>()
  private worker: Worker
  private closing = false
  /** Settles when the thread has built its context (rules, aliases) and takes requests. */
  ready: Promise<void>

  constructor(
    private readonly settings: WorkerSettings,
    private readonly log: Logger,
  ) {
    ;[this.worker, this.ready] = this.start()
  }

  get load(): number {
    return this.inFlight.size
  }

  private start(): [Worker, Promise<void>] {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: this.settings })
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
        if (!started) return reject(new Error(`a span decoding thread could not start: ${err.message}`))
        this.log.error({ err }, 'span decoding thread failed')
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
      this.log.warn({ code, requests: lost.length }, 'span decoding thread exited; starting another')
      ;[this.worker, this.ready] = this.start()
      this.ready.catch((err) => this.log.error({ err }, 'span decoding thread could not restart'))
    })
    return [worker, ready]
  }

  prepare(id: number, request: SpanRequest): Promise<PreparedSpans> {
    const body = ownBuffer(request.body)
    return new Promise((resolve, reject) => {
      this.inFlight.set(id, { resolve, reject })
      this.worker.postMessage({ id, request: { ...request, body } }, [body.buffer as ArrayBuffer])
    })
  }

  async close(): Promise<void> {
    this.closing = true
    await this.worker.terminate()
  }
}

/**
 * Span requests decoded, redacted and encoded on worker threads, so the JS thread that answers
 * senders and runs the writes is never held by a burst of large batches. A request goes to the thread
 * with the fewest in flight; the body is handed over, not copied, when it owns its memory.
 */
export class WorkerPreparer implements SpanPreparer {
  private nextId = 0

  private constructor(private readonly threads: readonly PreparerThread[]) {}

  /** `count` threads, each ready to take requests; fails when one cannot start. */
  static async start(count: number, settings: WorkerSettings, log: Logger): Promise<WorkerPreparer> {
    const threads = Array.from({ length: count }, () => new PreparerThread(settings, log))
    try {
      await Promise.all(threads.map((t) => t.ready))
    } catch (err) {
      await Promise.all(threads.map((t) => t.close()))
      throw err
    }
    return new WorkerPreparer(threads)
  }

  get lanes(): number {
    return this.threads.length
  }

  prepare(request: SpanRequest): Promise<PreparedSpans> {
    let least = this.threads[0] as PreparerThread
    for (const t of this.threads) if (t.load < least.load) least = t
    return least.prepare(this.nextId++, request)
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.close()))
  }
}
