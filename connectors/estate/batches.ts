import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { Cron } from 'croner'
import { BATCH_EVENTS, INTEGRATION_ATTRIBUTES } from '../../core/vocabulary.ts'
import type { Order } from '../order-to-cash/order.ts'
import { BusinessEvents } from '../sdk/events.ts'
import { InFlight } from '../sdk/in-flight.ts'
import { type ConnectorTelemetry, serviceTelemetry } from '../sdk/index.ts'
import type { ErpSimulator } from './erp.ts'
import { seededRandom } from './faults.ts'
import { STORES } from './storefront.ts'

/** A scheduled job of the estate: a store's nightly sales posting, or the ERP's daily export. */
export interface EstateBatchJob {
  readonly name: string
  readonly kind: 'store-sales-posting' | 'erp-daily-export'
  readonly system: 'pos' | 'erp'
  readonly store?: string
  /** When the demo runs it (config/demo/batches.yaml declares the same, compressed: minutes, not nights). */
  readonly schedule: string
}

export const DEMO_BATCH_JOBS: readonly EstateBatchJob[] = [
  ...STORES.map(
    (store): EstateBatchJob => ({
      name: `store-sales-posting.${store}`,
      kind: 'store-sales-posting',
      system: 'pos',
      store,
      schedule: '*/2 * * * *',
    }),
  ),
  { name: 'erp-daily-export', kind: 'erp-daily-export', system: 'erp', schedule: '1-59/5 * * * *' },
]

export interface BatchRunResult {
  readonly runId: string
  readonly status: 'completed' | 'failed'
  readonly rows: number
  readonly rejected: number
}

const today = () => new Date().toISOString().slice(0, 10)

/**
 * The estate's scheduled batches, run as such jobs run: each run a span and the events
 * `retail.batch.started` then `.completed` or `.failed` (data `job`, `runId`, `businessDay`, `rows`,
 * `rejected`), sent over OTLP and CloudEvents like any outside scheduler would. A store's posting
 * sends the POS sales recorded at its tills since its last run; the ERP's export, the documents the
 * ERP made since its last. Both fail while the ERP is down (an outage or a maintenance window).
 */
export class EstateBatches {
  private readonly telemetry: ConnectorTelemetry
  private readonly events: BusinessEvents
  private readonly random: () => number
  private readonly tills = new Map<string, Order[]>()
  private exported = 0
  private n = 0
  private crons: Cron[] = []
  private readonly running = new InFlight()
  /** Jobs that do not run at their next scheduled time (a till offline, a scheduler stopped). */
  readonly skipNext = new Set<string>()
  /** Item codes the ERP no longer knows: a sale with one is rejected from the posting. */
  rejectedSkus: ReadonlySet<string> = new Set()

  constructor(
    private readonly erp: ErpSimulator,
    collectorUrl: string,
    private readonly options: {
      readonly run: string
      readonly seed?: number
      readonly ingestKey?: string
      /** How long a run takes per row, so durations show (0 in tests). */
      readonly msPerRow?: number
    },
  ) {
    const headers: Record<string, string> = options.ingestKey
      ? { authorization: `Bearer ${options.ingestKey}` }
      : {}
    this.telemetry = serviceTelemetry(
      collectorUrl,
      { 'service.name': 'batch-scheduler', [INTEGRATION_ATTRIBUTES.system]: 'batch-scheduler' },
      undefined,
      headers,
    )
    this.events = new BusinessEvents(collectorUrl, 'urn:estate:batch-scheduler', 'batch-scheduler', headers)
    this.random = seededRandom(options.seed ?? 30)
  }

  /** A sale at a store's till, posted to the ERP by that store's next nightly posting. */
  recordSale(order: Order): void {
    if (order.channel !== 'pos' || !order.storeId) return
    this.tills.set(order.storeId, [...(this.tills.get(order.storeId) ?? []), order])
  }

  /** Runs the jobs on their cron schedules (croner) until `stop`. */
  schedule(jobs: readonly EstateBatchJob[] = DEMO_BATCH_JOBS): void {
    for (const job of jobs)
      this.crons.push(
        new Cron(job.schedule, { timezone: 'UTC', unref: true }, () => {
          if (this.skipNext.delete(job.name)) return
          // A failed run is what Signalbox shows; the scheduler carries on.
          this.run(job).catch(() => undefined)
        }),
      )
  }

  /** Business events sent so far, for load reports. */
  get eventCounts(): { readonly sent: number; readonly failed: number } {
    return this.events.counts
  }

  /** One run now, for the business day given (today by default). */
  run(job: EstateBatchJob, businessDay = today()): Promise<BatchRunResult> {
    return this.running.track(this.runJob(job, businessDay))
  }

  /** Stops the schedules; a run in progress carries on (`settled` waits for it). */
  stop(): void {
    for (const c of this.crons) c.stop()
    this.crons = []
  }

  /** Resolves once no run is in flight. */
  settled(): Promise<void> {
    return this.running.settled()
  }

  private async runJob(job: EstateBatchJob, businessDay: string): Promise<BatchRunResult> {
    const runId = `RUN-${this.options.run}-${String(this.n++).padStart(5, '0')}`
    const span = this.telemetry.tracer.startSpan(`batch ${job.kind}`, {
      kind: SpanKind.INTERNAL,
      attributes: {
        [INTEGRATION_ATTRIBUTES.system]: job.system,
        'signalbox.batch.job': job.name,
        'signalbox.batch.run_id': runId,
      },
    })
    const send = (type: string, data: Record<string, unknown>) =>
      this.events.send(span, `${runId}:${type}`, {
        type,
        subject: runId,
        data: { job: job.name, runId, businessDay, ...data },
        extensions: { system: job.system },
      })
    try {
      await send(BATCH_EVENTS.started, { rows: 0, rejected: 0 })
      const sales = job.store ? (this.tills.get(job.store) ?? []) : []
      const rows = job.store ? sales.length : this.erp.documents.size - this.exported
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(3_000, rows * (this.options.msPerRow ?? 50))),
      )
      const down = this.erp.faults.outage || (this.erp.faults.maintenanceUntil ?? 0) > Date.now()
      if (down) {
        const error = 'the ERP is unavailable: the posting file was not accepted'
        span.setStatus({ code: SpanStatusCode.ERROR, message: error })
        await send(BATCH_EVENTS.failed, { rows: 0, rejected: rows, error })
        return { runId, status: 'failed', rows: 0, rejected: rows }
      }
      const rejected = job.store
        ? sales.filter((o) => o.lines.some((l) => this.rejectedSkus.has(l.sku)) || this.random() < 0.02)
            .length
        : 0
      if (job.store) this.tills.set(job.store, [])
      else this.exported += rows
      span.setAttributes({ 'signalbox.batch.rows': rows - rejected, 'signalbox.batch.rejected': rejected })
      await send(BATCH_EVENTS.completed, { rows: rows - rejected, rejected })
      return { runId, status: 'completed', rows: rows - rejected, rejected }
    } finally {
      span.end()
    }
  }

  job(name: string): EstateBatchJob {
    const job = DEMO_BATCH_JOBS.find((j) => j.name === name)
    if (!job) throw new Error(`no batch job ${name}`)
    return job
  }

  async close(): Promise<void> {
    this.stop()
    this.events.close()
    await this.telemetry.shutdown()
  }
}
