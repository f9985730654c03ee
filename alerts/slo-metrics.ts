import { Counter, Gauge, type Registry } from 'prom-client'
import { HOUR_MS } from '../core/duration.ts'
import type { Logger } from '../core/logger.ts'
import { readingShared } from '../core/reading.ts'
import type { Store } from '../store/client.ts'
import { sliCounts } from './sli-kinds.ts'
import { type SloStatus, sloStatus } from './slo-status.ts'
import { type SloDefinition, sloLabels } from './spec.ts'

/**
 * Events are counted at their own time, and late deliveries land in their place: counts of the last
 * hour may still grow. Counts older than this are settled into the counters once and never re-read.
 */
const SETTLE_MS = HOUR_MS

/** A scrape's counts are shared by every metric it reads (each metric collects on its own). */
const SAMPLE_REUSE_MS = 1_000

interface Tally {
  /** Events before this time are in `good` and `total`. */
  settledMs: number
  good: number
  total: number
}

interface Sample {
  readonly slo: SloDefinition
  readonly status: SloStatus
  readonly good: number
  readonly total: number
}

/**
 * Each SLO's SLI as Prometheus metrics on the api's `/metrics`, so Grafana, Sloth-style recording
 * rules and Prometheus alerts can be built on them: good and total events as counters (events whose
 * time is after this process started, so `rate()` and `increase()` work as on any counter), and the
 * period's counts, objective and remaining error budget as gauges. Read from the store at each scrape.
 */
export class SloMetrics {
  private readonly tallies = new Map<string, Tally>()
  private readonly reported = new Map<string, { good: number; total: number }>()
  private sample?: { atMs: number; result: Promise<Sample[]> }

  constructor(
    private readonly store: Store,
    private readonly slos: readonly SloDefinition[],
    registry: Registry,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {
    const startMs = clock()
    for (const slo of slos) this.tallies.set(slo.id, { settledMs: startMs, good: 0, total: 0 })
    const labelNames = [...new Set(slos.flatMap((slo) => Object.keys(sloLabels(slo))))]
    const metrics = this
    const counter = (name: string, help: string, pick: (s: Sample) => number, key: 'good' | 'total') =>
      new Counter({
        name,
        help,
        labelNames,
        registers: [registry],
        async collect() {
          for (const s of await metrics.samples()) {
            const last = metrics.reported.get(s.slo.id) ?? { good: 0, total: 0 }
            // A late event can turn one counted bad into good: a counter never goes down, so it waits.
            const delta = pick(s) - last[key]
            if (delta > 0) {
              this.inc(sloLabels(s.slo), delta)
              metrics.reported.set(s.slo.id, { ...last, [key]: pick(s) })
            }
          }
        },
      })
    const gauge = (name: string, help: string, value: (s: Sample) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        async collect() {
          this.reset()
          for (const s of await metrics.samples()) {
            const v = value(s)
            if (v !== null) this.set(sloLabels(s.slo), v)
          }
        },
      })
    counter(
      'signalbox_slo_good_events_total',
      "Good events of the SLO's SLI, by the events' own time, since this process started.",
      (s) => s.good,
      'good',
    )
    counter(
      'signalbox_slo_events_total',
      "All events of the SLO's SLI, by the events' own time, since this process started.",
      (s) => s.total,
      'total',
    )
    gauge(
      'signalbox_slo_objective_ratio',
      'The SLO objective: the share of events that must be good.',
      (s) => s.slo.objective,
    )
    gauge(
      'signalbox_slo_period_good_events',
      "Good events in the SLO's current period (rolling window or calendar month).",
      (s) => s.status.counts.good,
    )
    gauge(
      'signalbox_slo_period_events',
      "All events in the SLO's current period.",
      (s) => s.status.counts.total,
    )
    gauge(
      'signalbox_slo_error_budget_remaining_ratio',
      "Share of the period's error budget left (1: untouched, 0: spent, negative: overspent); absent without events.",
      (s) => s.status.budget.remaining,
    )
  }

  private samples(): Promise<Sample[]> {
    const now = this.clock()
    if (!this.sample || now - this.sample.atMs > SAMPLE_REUSE_MS)
      // Scrapes within a second share it: no one scraper's, so not dropped if that scraper goes away.
      this.sample = { atMs: now, result: readingShared('slo metrics', () => this.read(now)) }
    return this.sample.result
  }

  /** Every SLO now; one that cannot be read is left out of this scrape, logged, not thrown. */
  private async read(nowMs: number): Promise<Sample[]> {
    const read = await Promise.all(
      this.slos.map(async (slo) => {
        try {
          return await this.readOne(slo, nowMs)
        } catch (err) {
          this.log.warn({ err, slo: slo.id }, 'SLO metrics could not be read; left out of this scrape')
          return undefined
        }
      }),
    )
    return read.filter((s): s is Sample => s !== undefined)
  }

  private async readOne(slo: SloDefinition, nowMs: number): Promise<Sample> {
    const tally = this.tallies.get(slo.id) as Tally
    const sinceSettled = Math.max(0, nowMs - tally.settledMs)
    const windows = sinceSettled > SETTLE_MS ? [sinceSettled, SETTLE_MS] : [sinceSettled]
    const [status, rows] = await Promise.all([
      sloStatus(this.store, slo, nowMs),
      sliCounts(this.store, slo.sli, windows, new Date(nowMs)),
    ])
    const counts = (w: number) => rows.find((r) => r.windowMs === w) ?? { good: 0, total: 0 }
    const open = counts(sinceSettled)
    const sample = { slo, status, good: tally.good + open.good, total: tally.total + open.total }
    if (sinceSettled > SETTLE_MS) {
      const recent = counts(SETTLE_MS)
      tally.good += open.good - recent.good
      tally.total += open.total - recent.total
      tally.settledMs = nowMs - SETTLE_MS
    }
    return sample
  }
}
