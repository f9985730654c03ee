import { type BatchConfig, type BatchJob, lastDue, nextDue } from '../core/batches.ts'
import { BATCH_EVENTS } from '../core/vocabulary.ts'
import type { BatchRunRow, MissedBatchRun } from '../store/queries/batches.ts'

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

export type RunStatus = 'running' | 'completed' | 'failed'

/** One run as the api shows it. */
export function runView(r: BatchRunRow) {
  const started = Number(r.started_ms)
  const ended = r.ended_ms === null ? null : Number(r.ended_ms)
  const status: RunStatus =
    r.outcome === BATCH_EVENTS.failed
      ? 'failed'
      : r.outcome === BATCH_EVENTS.completed
        ? 'completed'
        : 'running'
  return {
    job: r.job,
    runId: r.run_id,
    businessDay: r.business_day || null,
    status,
    startedAt: iso(started) as string,
    endedAt: iso(ended),
    durationMs: ended === null ? null : Math.max(0, ended - started),
    rows: Number(r.rows),
    rejected: Number(r.rejected),
    error: r.error || null,
    traceId: r.trace_id || null,
  }
}

export type RunView = ReturnType<typeof runView>

/**
 * Each job, declared or only heard from: its schedule, when it is next due, its last run, what its
 * runs in the window did, and its state: `missed` (due, not heard from within its grace), `failed`
 * (its last run failed), `running`, `ok`, `never_run` (declared, not yet due) or `undeclared`
 * (runs from a job batches.yaml does not name: no schedule to miss).
 */
export function jobViews(
  batches: BatchConfig,
  runs: readonly RunView[],
  missed: readonly MissedBatchRun[],
  nowMs: number,
) {
  const byJob = new Map<string, RunView[]>()
  for (const r of runs) byJob.set(r.job, [...(byJob.get(r.job) ?? []), r])
  const names = [...new Set([...batches.jobs.keys(), ...byJob.keys()])]
  return names.map((name) => {
    const job: BatchJob | undefined = batches.jobs.get(name)
    const its = byJob.get(name) ?? []
    const last = its[0] ?? null
    const miss = missed.find((m) => m.job === name)
    const finished = its.filter((r) => r.durationMs !== null)
    const state = miss
      ? 'missed'
      : !job
        ? 'undeclared'
        : last?.status === 'failed'
          ? 'failed'
          : last?.status === 'running'
            ? 'running'
            : last
              ? 'ok'
              : 'never_run'
    return {
      job: name,
      declared: job !== undefined,
      system: job?.system ?? null,
      description: job?.description ?? null,
      schedule: job?.schedule ?? null,
      timezone: job ? batches.timezone : null,
      graceMs: job?.graceMs ?? null,
      nextDueAt: job ? iso(nextDue(job, batches.timezone, nowMs)) : null,
      lastDueAt: job ? iso(lastDue(job, batches.timezone, nowMs)) : null,
      state,
      missedDueAt: miss ? iso(miss.due) : null,
      lastRun: last,
      runs: its.length,
      failed: its.filter((r) => r.status === 'failed').length,
      rows: its.reduce((n, r) => n + r.rows, 0),
      rejected: its.reduce((n, r) => n + r.rejected, 0),
      averageDurationMs:
        finished.length === 0
          ? null
          : Math.round(finished.reduce((n, r) => n + (r.durationMs ?? 0), 0) / finished.length),
    }
  })
}
