import { listReplays, type ReplayJob } from '../../store/queries/replays.ts'
import type { ReplayDeps } from './replay.ts'

export interface JobProgress {
  readonly total: number
  readonly succeeded: number
  readonly failed: number
  readonly skipped: number
  readonly remaining: number
}

/** One exception of a job that was not replayed successfully, and why. */
export interface JobItemFailure {
  readonly exceptionId: string
  readonly replayId: string
  readonly entity: { readonly type: string; readonly id: string }
  /**
   * `failed`: the step ran and failed; `error`: it could not run (the callback failed, or it was
   * refused: no callback, the loop guard); `skipped`: resolved or ignored meanwhile, not sent.
   */
  readonly status: 'failed' | 'error' | 'skipped'
  readonly error: string
}

/**
 * How a finished job ended, so a job where nothing worked never reads like one where everything did:
 * `succeeded` (nothing failed; exceptions resolved or ignored meanwhile were skipped), `failed`
 * (nothing was replayed and something failed), `partly_failed` (the rest). Null while it runs, is
 * paused, or was cancelled before it finished.
 */
export type JobOutcome = 'succeeded' | 'partly_failed' | 'failed' | null

/** The most failed items a job's view lists; the counts still cover all of them. */
const FAILURES_SHOWN = 100

/** A job's progress, its outcome once done, and the reason for each exception that did not replay. */
export async function jobOutcome(deps: ReplayDeps, job: ReplayJob) {
  // A job's replays were all requested after it was made; the minute covers clock skew between nodes.
  const replays = await listReplays(deps.store, {
    jobId: job.id,
    since: new Date(job.createdAtMs - 60_000),
    limit: job.exceptionIds.length + 1,
  })
  let succeeded = 0
  const failures: JobItemFailure[] = []
  // What the job changed, for the page to say in words ("7 orders posted through post_sales_order").
  const replayed = new Map<string, { entityType: string; connector: string; step: string; count: number }>()
  for (const r of replays) {
    if (r.status === 'succeeded') {
      succeeded++
      const key = `${r.entity_type}\u0000${r.connector}\u0000${r.step}`
      const seen = replayed.get(key) ?? {
        entityType: r.entity_type,
        connector: r.connector,
        step: r.step,
        count: 0,
      }
      replayed.set(key, { ...seen, count: seen.count + 1 })
    } else if (r.status === 'failed' || r.status === 'error' || r.status === 'skipped')
      failures.push({
        exceptionId: r.exception_id,
        replayId: r.id,
        entity: { type: r.entity_type, id: r.entity_id },
        status: r.status,
        error: r.error || (r.status === 'failed' ? 'the step failed again' : 'no reason recorded'),
      })
  }
  const count = (s: JobItemFailure['status']) => failures.filter((f) => f.status === s).length
  const total = job.exceptionIds.length
  const progress: JobProgress = {
    total,
    succeeded,
    failed: count('failed') + count('error'),
    skipped: count('skipped'),
    remaining: total - succeeded - failures.length,
  }
  const outcome: JobOutcome =
    job.status !== 'done'
      ? null
      : progress.failed === 0
        ? 'succeeded'
        : succeeded + progress.skipped === 0
          ? 'failed'
          : 'partly_failed'
  return { progress, outcome, failures: failures.slice(0, FAILURES_SHOWN), replayed: [...replayed.values()] }
}
