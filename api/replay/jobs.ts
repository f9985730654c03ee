import { randomUUID } from 'node:crypto'
import { runEvery } from '../../core/background.ts'
import { MINUTE_MS } from '../../core/duration.ts'
import { SignalboxError } from '../../core/errors.ts'
import type { Logger } from '../../core/logger.ts'
import {
  type ExceptionFilter,
  exceptionsFromSpans,
  getException,
  listExceptions,
  resolveSuperseded,
} from '../../store/queries/exceptions.ts'
import {
  appendReplay,
  type JobStatus,
  jobReplayStates,
  listJobs,
  type ReplayJob,
  saveJob,
} from '../../store/queries/replays.ts'
import { notReplayable, type ReplayDeps, replayException } from './replay.ts'

/** The most exceptions one bulk replay may take; a wider filter must be narrowed. */
export const MAX_JOB_SIZE = 10_000
const REPLAYABLE = ['open', 'failed-again']

export async function matchingExceptions(deps: ReplayDeps, filter: ExceptionFilter) {
  return listExceptions(deps.store, { ...filter, statuses: REPLAYABLE, limit: MAX_JOB_SIZE + 1 })
}

/**
 * A job over the exceptions a filter matched (`matchingExceptions`, narrowed to the caller's scope);
 * the filter is kept with it to say what was asked.
 */
export async function createJob(
  deps: ReplayDeps,
  filter: object,
  matched: readonly { readonly id: string }[],
  request: { by: string; reason: string; perMinute: number },
): Promise<ReplayJob> {
  const now = Date.now()
  const job: ReplayJob = {
    id: `job_${randomUUID()}`,
    filter: JSON.stringify(filter),
    exceptionIds: matched.slice(0, MAX_JOB_SIZE).map((e) => e.id),
    status: 'running',
    perMinute: request.perMinute,
    requestedBy: request.by,
    reason: request.reason,
    createdAtMs: now,
    updatedAtMs: now,
  }
  await saveJob(deps.store, job)
  return job
}

export async function setJobStatus(deps: ReplayDeps, id: string, status: JobStatus) {
  const [job] = await listJobs(deps.store, { id })
  if (!job) return undefined
  const allowed: Record<JobStatus, JobStatus[]> = {
    running: ['paused', 'cancelled', 'done'],
    paused: ['running', 'cancelled'],
    cancelled: [],
    done: [],
  }
  if (!allowed[job.status].includes(status))
    return { job, refused: `job ${id} is ${job.status}; it cannot become ${status}` }
  const next = { ...job, status, updatedAtMs: Date.now() }
  await saveJob(deps.store, next)
  return { job: next }
}

/** How long a connector has to report a failure itself before its spans speak for it. */
const REPORT_GRACE_MS = MINUTE_MS

/**
 * Exceptions kept true to the spans: failures no connector reported become exceptions, and
 * exceptions a later successful run superseded resolve.
 */
async function exceptionMaintenance(deps: ReplayDeps) {
  const now = Date.now()
  await exceptionsFromSpans(deps.store, new Date(now - 15 * MINUTE_MS), new Date(now - REPORT_GRACE_MS))
  await resolveSuperseded(deps.store)
}

/**
 * Works through running jobs, one exception at a time per job at the job's rate (the target
 * system's budget). State lives in the store — the job and the trail of its replays — so a restart
 * resumes where it stopped; a replay cut off mid-flight is sent again under the same replay id,
 * which the connector answers from its earlier outcome instead of running twice.
 */
export function startReplayJobs(deps: ReplayDeps, log: Logger, { tickMs = 250 } = {}): () => Promise<void> {
  const nextAt = new Map<string, number>()

  const work = async (stopped: AbortSignal) => {
    for (const job of await listJobs(deps.store, { statuses: ['running'] })) {
      if (stopped.aborted) return
      if ((nextAt.get(job.id) ?? 0) > Date.now()) continue
      const states = await jobReplayStates(deps.store, job.id)
      const next = job.exceptionIds.find((id) => {
        const s = states.get(id)
        return s === undefined || s === 'running'
      })
      if (!next) {
        await saveJob(deps.store, { ...job, status: 'done', updatedAtMs: Date.now() })
        log.info({ job: job.id }, 'bulk replay done')
        continue
      }
      nextAt.set(job.id, Date.now() + MINUTE_MS / job.perMinute)
      const replayId = `rpl_${job.id.slice(4)}_${next}`
      const e = await getException(deps.store, next)
      /** An item that did not reach the connector, with why: the job moves on and says so. */
      const recordNotSent = (status: 'skipped' | 'error', error: string) =>
        appendReplay(deps.store, {
          atMs: Date.now(),
          id: replayId,
          kind: 'replay',
          exceptionId: next,
          jobId: job.id,
          connector: e?.connector ?? '',
          step: e?.step ?? '',
          entity: { type: e?.entity_type ?? '', id: e?.entity_id ?? '' },
          status,
          requestedBy: job.requestedBy,
          reason: job.reason,
          payloadDiff: '[]',
          approvedBy: '',
          httpStatus: 0,
          error,
          originalTraceId: e?.trace_id ?? '',
          traceId: '',
        })
      // Resolved meanwhile (a later run succeeded) or ignored: skipped, nothing is left to do. Stopped
      // by the loop guard or gone: not run, which the job counts as a failure.
      const refused = e ? notReplayable(e, deps.limit) : 'the exception no longer exists'
      if (refused && states.get(next) !== 'running') {
        const settled = e?.status === 'resolved' || e?.status === 'ignored'
        await recordNotSent(settled ? 'skipped' : 'error', refused)
        continue
      }
      try {
        await replayException(deps, next, {
          by: job.requestedBy,
          reason: job.reason,
          jobId: job.id,
          replayId,
        })
      } catch (err) {
        // Refused for a reason of its own (no callback URL, no payload): recorded against the item,
        // or the job would try the same exception forever and never say why. Anything else (the
        // store failing) is tried again on the next tick.
        if (err instanceof SignalboxError && err.status < 500) await recordNotSent('error', err.message)
        else log.warn({ err, job: job.id, exception: next }, 'bulk replay item failed')
      }
    }
  }
  let ticks = 0
  const tick = (stopped: AbortSignal) => {
    // Every few seconds, exceptions a later successful run superseded are resolved.
    const maintenance =
      ticks++ % Math.max(1, Math.round(5_000 / tickMs)) === 0 ? exceptionMaintenance(deps) : undefined
    return Promise.all([maintenance, work(stopped)])
  }
  return runEvery(tick, {
    everyMs: tickMs,
    log,
    failure: 'replay jobs: tick failed; retrying',
    immediately: false,
  })
}
