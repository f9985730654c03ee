import { Hono } from 'hono'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import { type BatchConfig, JOB_NAME } from '../../core/batches.ts'
import type { Config } from '../../core/config.ts'
import { DAY_MS } from '../../core/duration.ts'
import { NotFoundError } from '../../core/errors.ts'
import type { Store } from '../../store/client.ts'
import { batchRuns, missedBatchRuns } from '../../store/queries/batches.ts'
import { jobViews, runView } from '../batches.ts'
import { params, query, requestedRange, timeRange, wholeNumber } from '../params.ts'
import { type ApiEnv, policy, scoped } from '../policy.ts'
import type { Visibility } from '../visibility.ts'

/** A job with no declared system (only heard from) is seen by callers not scoped to systems. */
const sees = (visible: Visibility, system: string | null) => visible.system(system ?? '')

/**
 * `GET /batches`: every scheduled job (batches.yaml) and every job heard from, with its runs'
 * outcomes and whether a run was missed; `GET /batches/:job/runs`: one job's runs, newest first.
 */
export function batchRoutes(store: Store, batches: BatchConfig, config: Pick<Config, 'query'>) {
  const window = timeRange.describe('Runs started in this range; default: the last 7 days')
  const runsQuery = timeRange.extend({
    limit: wholeNumber(1, 1000).optional().describe('At most this many runs, newest first (default 100)'),
  })
  const jobParams = z.object({ job: z.string().regex(JOB_NAME, 'a job name') })
  return new Hono<ApiEnv>()
    .get(
      '/batches',
      describeRoute({
        tags: ['batches'],
        summary: 'Scheduled batch jobs: their runs, duration, rows, rejects and missed runs',
        description:
          'Each job declared in batches.yaml and each job heard from (retail.batch.* events): schedule, next and last due time, state (ok, running, failed, missed, never_run, undeclared), last run, and its runs in the range with their rows, rejects and average duration.',
        responses: { 200: { description: 'The jobs' } },
      }),
      // Narrowed to the jobs of the systems the scope covers.
      policy({ role: 'viewer', scope: 'narrowed' }),
      query(window),
      async (c) => {
        const now = Date.now()
        const { from, to } = requestedRange(c.req.valid('query'), config, { toMs: now, spanMs: 7 * DAY_MS })
        const visible = scoped(c)
        const [rows, { missed }] = await Promise.all([
          batchRuns(store, { from, to, limit: 10_000 }),
          missedBatchRuns(store, batches, now),
        ])
        const jobs = jobViews(batches, rows.map(runView), missed, now).filter((j) => sees(visible, j.system))
        return c.json({
          from: from.toISOString(),
          to: to.toISOString(),
          timezone: batches.timezone,
          missed: jobs.filter((j) => j.state === 'missed').length,
          failed: jobs.filter((j) => j.state === 'failed').length,
          jobs,
        })
      },
    )
    .get(
      '/batches/:job/runs',
      describeRoute({
        tags: ['batches'],
        summary: 'One batch job’s runs',
        description:
          'Runs started in the range, newest first: business day, status (running, completed, failed), start, end, duration, rows, rejected rows, the error of a failed run and its trace.',
        responses: { 200: { description: 'The runs' }, 404: { description: 'No such job' } },
      }),
      policy({ role: 'viewer', scope: 'narrowed' }),
      params(jobParams),
      query(runsQuery),
      async (c) => {
        const { job } = c.req.valid('param')
        const { limit = 100, ...range } = c.req.valid('query')
        const now = Date.now()
        const { from, to } = requestedRange(range, config, { toMs: now, spanMs: 7 * DAY_MS })
        const declared = batches.jobs.get(job)
        const runs = (await batchRuns(store, { from, to, job, limit })).map(runView)
        const visible = scoped(c)
        if ((!declared && runs.length === 0) || !sees(visible, declared?.system ?? null))
          // Not named back: a job outside the scope is not confirmed to exist.
          throw new NotFoundError('no such batch job (declared in batches.yaml or heard from in the range)')
        return c.json({
          job,
          declared: declared !== undefined,
          schedule: declared?.schedule ?? null,
          from: from.toISOString(),
          to: to.toISOString(),
          runs,
        })
      },
    )
}
