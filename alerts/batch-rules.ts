import { z } from 'zod'
import { businessDayBounds, businessDayOf, dayClosed, NO_BATCHES } from '../core/batches.ts'
import { DAY_MS, durationSetting, MINUTE_MS } from '../core/duration.ts'
import { batchRuns, missedBatchRuns } from '../store/queries/batches.ts'
import { reconciliationTotals } from '../store/queries/reconciliation.ts'
// Types only: rules.ts spreads these kinds into its registry, so nothing of its may run here first.
import type { RuleContext, RuleKindSpec, RuleValue } from './rules.ts'

const ruleKind = <S extends z.ZodType>(spec: RuleKindSpec<S>) => spec
const jobs = z.array(z.string().min(1)).min(1).optional()
const isoMinute = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ')
/** Postings and credit memos of a closed day are looked for this long after it. */
const FOLLOW_UP_MS = 31 * DAY_MS

/**
 * The rule kinds on scheduled batches and the daily reconciliation (batches.yaml): a missed run, a
 * failed last run, and a closed business day with entities finance cannot match.
 */
export const batchRuleKinds = {
  batch_missed: ruleKind({
    schema: z.object({ jobs }).strict(),
    values: async ({ store, batches = NO_BATCHES }: RuleContext, s, now): Promise<RuleValue[]> => {
      const { missed } = await missedBatchRuns(store, batches, now.getTime())
      return [...batches.jobs.values()]
        .filter((job) => !s.jobs || s.jobs.includes(job.name))
        .map((job) => {
          const m = missed.find((x) => x.job === job.name)
          return {
            labels: { job: job.name, system: job.system },
            value: m ? 1 : 0,
            over: m !== undefined,
            reason: m
              ? `no run of ${job.name} since it was due at ${isoMinute(m.due)} UTC (${job.schedule}, grace ${job.graceMs / MINUTE_MS}m)`
              : `${job.name} ran on schedule`,
          }
        })
    },
  }),
  batch_failed: ruleKind({
    schema: z
      .object({
        jobs,
        within: durationSetting.default(2 * DAY_MS),
        rejected_above: z.number().int().min(0).optional(),
      })
      .strict(),
    values: async ({ store, batches = NO_BATCHES }: RuleContext, s, now): Promise<RuleValue[]> => {
      const runs = await batchRuns(store, {
        from: new Date(now.getTime() - s.within),
        to: new Date(now.getTime() + MINUTE_MS),
        limit: 10_000,
      })
      const latest = new Map<string, (typeof runs)[number]>()
      // Newest first: the first finished run of each job is its last outcome.
      for (const r of runs) if (r.outcome && !latest.has(r.job)) latest.set(r.job, r)
      return [...latest.values()]
        .filter((r) => !s.jobs || s.jobs.includes(r.job))
        .map((r) => {
          const failed = r.outcome.endsWith('.failed')
          const rejected = Number(r.rejected)
          const tooMany = s.rejected_above !== undefined && rejected > s.rejected_above
          return {
            labels: { job: r.job, system: batches.jobs.get(r.job)?.system ?? 'unknown' },
            value: failed ? 1 : 0,
            over: failed || tooMany,
            reason: failed
              ? `the last run of ${r.job} (${r.run_id}, business day ${r.business_day}) failed${r.error ? `: ${r.error}` : ''}`
              : `the last run of ${r.job} completed with ${r.rows} rows, ${rejected} rejected`,
          }
        })
    },
  }),
  unreconciled: ruleKind({
    schema: z
      .object({ above: z.number().int().min(0), days: z.number().int().min(1).max(31).default(7) })
      .strict(),
    values: async ({ store, batches = NO_BATCHES }: RuleContext, s, now): Promise<RuleValue[]> => {
      const nowMs = now.getTime()
      const today = businessDayOf(nowMs, batches.timezone)
      // The last `days` business days before today that are closed.
      const todayStarts = businessDayBounds(today, batches.timezone).start
      // Midday of each day before: a day's length may differ from 24 hours by a clock change.
      const days = Array.from({ length: s.days }, (_, i) =>
        businessDayOf(todayStarts - (i + 0.5) * DAY_MS, batches.timezone),
      ).filter((day) => dayClosed(day, batches, nowMs))
      const perDay = await Promise.all(
        days.map(async (day) => {
          const { start, end } = businessDayBounds(day, batches.timezone)
          const window = {
            from: new Date(start),
            to: new Date(end),
            until: new Date(Math.min(end + FOLLOW_UP_MS, nowMs)),
          }
          const byChannel = new Map<string, number>()
          for (const t of await reconciliationTotals(store, window))
            if (t.stage === 'unmatched_orders' || t.stage === 'unmatched_refunds')
              byChannel.set(t.channel, (byChannel.get(t.channel) ?? 0) + Number(t.n))
          return [...byChannel].map(([channel, n]) => ({
            labels: { day, channel },
            value: n,
            over: n > s.above,
            reason: `${n} unmatched orders and refunds on ${channel} for the closed business day ${day} (threshold ${s.above})`,
          }))
        }),
      )
      return perDay.flat()
    },
  }),
}
