import { Hono } from 'hono'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import { OutOfScopeError } from '../../auth/scope.ts'
import type { Config } from '../../core/config.ts'
import { DAY_MS } from '../../core/duration.ts'
import { BadRequestError, NotFoundError } from '../../core/errors.ts'
import type { FlowDefinition } from '../../core/flows.ts'
import type { PayloadVault } from '../../core/payload-vault.ts'
import { ENTITY_TYPE_NAME } from '../../core/vocabulary.ts'
import type { Store } from '../../store/client.ts'
import { getException, setExceptionStatus } from '../../store/queries/exceptions.ts'
import { listJobs, listReplays, type ReplayJob, type ReplayRow } from '../../store/queries/replays.ts'
import { actingUser, body, instant, isoFromMs, params, query, wholeNumber } from '../params.ts'
import { payloadView } from '../payload-view.ts'
import { type ApiEnv, jobScope, policy, scoped } from '../policy.ts'
import { jobOutcome } from '../replay/job-outcome.ts'
import { createJob, MAX_JOB_SIZE, matchingExceptions, setJobStatus } from '../replay/jobs.ts'
import { ConflictError, replayDeps, replayException, resyncEntity } from '../replay/replay.ts'
import { present } from './exceptions.ts'

const text = z.string().trim().max(2000)
const idParam = z.object({ id: z.string().max(200) })
/**
 * What a bulk replay takes: the dry run answers it back as it read it, and the launch sends that
 * answer, so what was confirmed is what runs. `status` narrows the replayable ones (open, failed
 * again); any other status matches nothing, as the exceptions list filtered by it would show.
 */
const filterSchema = z.object({
  status: z.enum(['open', 'failed-again', 'replaying', 'resolved', 'ignored']).optional(),
  connector: z.string().max(200).optional(),
  flow: z.string().max(200).optional(),
  stage: z.string().max(200).optional(),
  step: z.string().max(200).optional(),
  errorClass: z.string().max(200).optional(),
  from: instant.optional(),
  to: instant.optional(),
})

const replayView = (r: ReplayRow) => ({
  id: r.id,
  kind: r.kind,
  status: r.status,
  exceptionId: r.exception_id || null,
  jobId: r.job_id || null,
  connector: r.connector,
  step: r.step,
  entity: { type: r.entity_type, id: r.entity_id },
  requestedBy: r.requested_by,
  reason: r.reason,
  approvedBy: r.approved_by || null,
  payloadDiff: JSON.parse(r.payload_diff || '[]') as unknown[],
  httpStatus: r.http_status || null,
  error: r.error || null,
  originalTraceId: r.original_trace_id || null,
  traceId: r.trace_id || null,
  requestedAt: isoFromMs(r.requested_ms),
  finishedAt: isoFromMs(r.finished_ms),
})

const toFilter = (f: z.infer<typeof filterSchema>) => ({
  ...f,
  from: f.from ? new Date(f.from) : undefined,
  to: f.to ? new Date(f.to) : undefined,
})

/** Replays: one exception, a filtered set as a job, ignoring, and the audit trail. */
export function replayRoutes(
  store: Store,
  flows: ReadonlyMap<string, FlowDefinition>,
  config: Pick<Config, 'replay'>,
  vault: PayloadVault,
) {
  const deps = replayDeps(store, vault, config.replay)
  const jobView = async (job: ReplayJob) => ({
    ...(await jobOutcome(deps, job)),
    id: job.id,
    status: job.status,
    filter: JSON.parse(job.filter) as unknown,
    perMinute: job.perMinute,
    requestedBy: job.requestedBy,
    reason: job.reason,
    createdAt: isoFromMs(job.createdAtMs),
    updatedAt: isoFromMs(job.updatedAtMs),
  })
  const jobNamed = async (id: string) => {
    const [job] = await listJobs(store, { id })
    if (!job) throw new NotFoundError(`no replay job '${id.slice(0, 100)}'`)
    return job
  }

  /** The exception in the path is checked against the scope by the policy (api/policy.ts). */
  const oneException = { param: 'id', names: 'exception' } as const

  return new Hono<ApiEnv>()
    .post(
      '/exceptions/:id/replay',
      describeRoute({
        tags: ['replays'],
        summary:
          "Replay one exception through its connector's signed callback, optionally with an edited payload",
        responses: {
          200: { description: 'The replay and its outcome' },
          404: { description: 'No such exception' },
          409: {
            description: 'Resolved, ignored, being replayed, stopped by the loop guard, or no callback',
          },
        },
      }),
      policy({ role: 'operator', scope: oneException }),
      params(idParam),
      body(
        z.object({
          by: z.string().optional(),
          reason: text.min(1, 'say why'),
          payload: z.unknown().optional(),
          approvedBy: z.string().max(200).optional(),
        }),
      ),
      async (c) => {
        const b = c.req.valid('json')
        const replay = await replayException(deps, c.req.valid('param').id, {
          by: actingUser(c, b.by),
          reason: b.reason,
          payload: b.payload,
          approvedBy: b.approvedBy,
        })
        const exception = await getException(store, c.req.valid('param').id)
        return c.json({ replay, exception: exception && present(exception, payloadView(vault, c)) })
      },
    )
    .post(
      '/exceptions/:id/ignore',
      describeRoute({
        tags: ['replays'],
        summary:
          'Ignore an exception, saying who and why (it leaves the open list; a new failure reopens it)',
        responses: { 200: { description: 'The exception' }, 404: { description: 'No such exception' } },
      }),
      policy({ role: 'operator', scope: oneException }),
      params(idParam),
      body(z.object({ by: z.string().optional(), reason: text.min(1, 'say why') })),
      async (c) => {
        const b = c.req.valid('json')
        const updated = await setExceptionStatus(store, c.req.valid('param').id, {
          status: 'ignored',
          by: actingUser(c, b.by),
          reason: b.reason,
        })
        if (!updated) throw new NotFoundError(`no exception '${c.req.valid('param').id.slice(0, 100)}'`)
        return c.json({ exception: present(updated, payloadView(vault, c)) })
      },
    )
    .post(
      '/exceptions/replay',
      describeRoute({
        tags: ['replays'],
        summary: 'Bulk replay: the open exceptions matching a filter, as a rate-limited job (or a dry run)',
        responses: {
          200: {
            description: 'Dry run: how many and which, and the filter as read (send it with the launch)',
          },
          201: { description: 'The job' },
          409: { description: 'The filter no longer matches the count the dry run confirmed' },
        },
      }),
      policy({ role: 'operator', scope: 'narrowed' }),
      body(
        z.object({
          filter: filterSchema,
          dryRun: z.boolean().default(false),
          perMinute: z.number().int().min(1).max(60_000).default(60).describe("The target system's budget"),
          by: z.string().optional(),
          reason: text.default(''),
          confirmedCount: z
            .number()
            .int()
            .min(0)
            .optional()
            .describe(
              "The dry run's count: the launch is refused (409) if the filter now matches another number",
            ),
        }),
      ),
      async (c) => {
        const b = c.req.valid('json')
        const visible = scoped(c)
        const filter = { ...toFilter(b.filter), ...(await visible.exceptionFilter()) }
        // The exceptions the filter matches that the scope sees (their entities' channels too).
        const matched = await visible.exceptions(await matchingExceptions(deps, filter))
        if (b.dryRun) {
          return c.json({
            dryRun: true,
            filter: b.filter,
            count: Math.min(matched.length, MAX_JOB_SIZE),
            tooMany: matched.length > MAX_JOB_SIZE,
            exceptions: matched.slice(0, 100).map((e) => ({
              id: e.id,
              connector: e.connector,
              step: e.step,
              entity: { type: e.entity_type, id: e.entity_id },
              errorClass: e.error_class,
              replays: Number(e.replay_count),
            })),
          })
        }
        if (!b.reason) throw new BadRequestError('invalid_parameter', 'reason: say why')
        const count = Math.min(matched.length, MAX_JOB_SIZE)
        if (b.confirmedCount !== undefined && b.confirmedCount !== count)
          throw new ConflictError(
            'stale_dry_run',
            `the filter matches ${count} exception${count === 1 ? '' : 's'} now, not the ${b.confirmedCount} confirmed: run the dry run again`,
          )
        // A job made by a scoped caller keeps its scope: only callers whose scope contains it see it.
        const job = await createJob(
          deps,
          visible.limited ? { ...filter, scope: visible.scope } : filter,
          matched,
          {
            by: actingUser(c, b.by),
            reason: b.reason,
            perMinute: b.perMinute,
          },
        )
        return c.json({ job: await jobView(job) }, 201)
      },
    )
    .post(
      '/entities/:type/:id/resync',
      describeRoute({
        tags: ['replays'],
        summary: "Re-sync an entity: its connector reads it again from the source and runs the flow's step",
        responses: {
          200: { description: 'The re-sync and its outcome' },
          409: { description: 'No registered connector can re-sync this entity' },
        },
      }),
      policy({ role: 'operator', scope: { entity: ':type', id: 'id', narrowed: true } }),
      params(z.object({ type: z.string().regex(ENTITY_TYPE_NAME), id: z.string().min(1).max(1024) })),
      body(
        z.object({
          by: z.string().optional(),
          reason: text.min(1, 'say why'),
          connector: z.string().max(200).optional(),
          step: z.string().max(200).optional(),
        }),
      ),
      async (c) => {
        const { type, id } = c.req.valid('param')
        const b = c.req.valid('json')
        const visible = scoped(c)
        const flowsOfType = new Set(
          [...flows.values()].filter((f) => f.entity === type && visible.flow(f.name)).map((f) => f.name),
        )
        if (flowsOfType.size === 0 && visible.scope.flows)
          throw new OutOfScopeError(`no flow of ${type}s is within this token's scope`)
        const resync = await resyncEntity(deps, { type, id }, flowsOfType, {
          by: actingUser(c, b.by),
          reason: b.reason,
          connector: b.connector,
          step: b.step,
          // Through a connector of the scoped systems only.
          connectors: await visible.connectorIds(),
        })
        return c.json({ resync })
      },
    )
    .get(
      '/replay-jobs',
      describeRoute({
        tags: ['replays'],
        summary: 'Bulk replay jobs with their progress, newest first',
        responses: { 200: { description: 'Jobs' } },
      }),
      policy({ role: 'support', scope: 'narrowed' }),
      // Each job's progress is a read of its replays: a page that polls asks for the few it shows.
      query(z.object({ limit: wholeNumber(1, 200).default(50) })),
      async (c) => {
        const visible = scoped(c)
        const jobs = (await listJobs(store)).filter((job) => visible.contains(jobScope(job)))
        return c.json({ jobs: await Promise.all(jobs.slice(0, c.req.valid('query').limit).map(jobView)) })
      },
    )
    .get(
      '/replay-jobs/:id',
      describeRoute({
        tags: ['replays'],
        summary: 'One job: progress (done, failed, remaining)',
        responses: { 200: { description: 'The job' }, 404: { description: 'No such job' } },
      }),
      policy({ role: 'support', scope: { param: 'id', names: 'job' } }),
      params(idParam),
      async (c) => c.json({ job: await jobView(await jobNamed(c.req.valid('param').id)) }),
    )
    .post(
      '/replay-jobs/:id/:action',
      describeRoute({
        tags: ['replays'],
        summary: 'Pause, resume or cancel a job',
        responses: {
          200: { description: 'The job' },
          404: { description: 'No such job' },
          409: { description: 'Not possible in its state' },
        },
      }),
      policy({ role: 'operator', scope: { param: 'id', names: 'job' } }),
      params(z.object({ id: z.string().max(200), action: z.enum(['pause', 'resume', 'cancel']) })),
      body(z.object({ by: z.string().optional() })),
      async (c) => {
        const { id, action } = c.req.valid('param')
        actingUser(c, c.req.valid('json').by)
        const status = ({ pause: 'paused', resume: 'running', cancel: 'cancelled' } as const)[action]
        const result = await setJobStatus(deps, (await jobNamed(id)).id, status)
        if (result?.refused) throw new ConflictError('invalid_transition', result.refused)
        return c.json({ job: await jobView(result?.job as ReplayJob) })
      },
    )
    .get(
      '/replays',
      describeRoute({
        tags: ['replays'],
        summary:
          'The replay audit trail: who, when, why, what changed, the outcome, the original and new traces',
        responses: { 200: { description: 'Replays, newest first' } },
      }),
      policy({ role: 'support', scope: 'narrowed' }),
      query(
        z.object({
          exception: z.string().max(200).optional(),
          job: z.string().max(200).optional(),
          days: wholeNumber(1, 400).default(30),
          limit: wholeNumber(1, 1000).default(200),
        }),
      ),
      async (c) => {
        const q = c.req.valid('query')
        const visible = scoped(c)
        const all = await listReplays(store, {
          exceptionId: q.exception,
          jobId: q.job,
          since: new Date(Date.now() - q.days * DAY_MS),
          limit: visible.readRows(q.limit),
        })
        const rows = (await visible.replays(all)).slice(0, q.limit)
        return c.json({ replays: rows.map(replayView) })
      },
    )
}
