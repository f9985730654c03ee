import { Hono } from 'hono'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import { badEvents, sliSeries } from '../../alerts/sli-kinds.ts'
import { sloStatus } from '../../alerts/slo-status.ts'
import { type SloDefinition, sloLabels } from '../../alerts/spec.ts'
import { scopeOf } from '../../auth/middleware.ts'
import { labelsInScope, OutOfScopeError } from '../../auth/scope.ts'
import { DAY_MS, MINUTE_MS } from '../../core/duration.ts'
import { NotFoundError } from '../../core/errors.ts'
import type { Store } from '../../store/client.ts'
import { listInstances } from '../../store/queries/alerts.ts'
import { params } from '../params.ts'
import { sloHistory, sloSummary } from '../slo-view.ts'

const FINE_STEP_MS = 5 * MINUTE_MS

/** SLOs: where each stands now, and one SLO's budget and burn over time with what burned it. */
export function sloRoutes(store: Store, slos: readonly SloDefinition[]) {
  const named = (id: string, req: Request) => {
    const slo = slos.find((s) => s.id === id)
    if (!slo)
      throw new NotFoundError(`no SLO '${id.slice(0, 100)}'; configured: ${slos.map((s) => s.id).join(', ')}`)
    if (!labelsInScope(scopeOf(req), sloLabels(slo)))
      throw new OutOfScopeError(`SLO ${slo.id} is outside this token's scope`)
    return slo
  }
  return new Hono()
    .get(
      '/slos',
      describeRoute({
        tags: ['slos'],
        summary: 'Every SLO with its SLI, remaining budget and burn rates, least budget first',
        responses: { 200: { description: 'SLOs from slos.yaml with their status' } },
      }),
      async (c) => {
        const now = Date.now()
        const alerts = await listInstances(store)
        const scope = scopeOf(c.req.raw)
        const list = await Promise.all(
          slos
            .filter((slo) => labelsInScope(scope, sloLabels(slo)))
            .map(async (slo) =>
              sloSummary(
                await sloStatus(store, slo, now),
                alerts.filter((a) => a.labels.slo === slo.id),
              ),
            ),
        )
        // No data sorts last: an SLO without traffic is not the most urgent one.
        list.sort(
          (a, b) =>
            (a.budget.remaining ?? Number.POSITIVE_INFINITY) -
            (b.budget.remaining ?? Number.POSITIVE_INFINITY),
        )
        return c.json({ slos: list })
      },
    )
    .get(
      '/slos/:id',
      describeRoute({
        tags: ['slos'],
        summary:
          'One SLO: budget burndown over its period, burn rate per window pair over 3 days, the events that burned it',
        responses: { 200: { description: 'The SLO in detail' }, 404: { description: 'No such SLO' } },
      }),
      params(z.object({ id: z.string().max(200).describe('An SLO id from slos.yaml') })),
      async (c) => {
        const slo = named(c.req.valid('param').id, c.req.raw)
        const now = Date.now()
        const status = await sloStatus(store, slo, now)
        const periodStep = Math.max(
          FINE_STEP_MS,
          Math.ceil(status.period.lengthMs / 120 / FINE_STEP_MS) * FINE_STEP_MS,
        )
        const fineFrom = Math.floor((now - 3 * DAY_MS) / FINE_STEP_MS) * FINE_STEP_MS
        const [periodBuckets, fineBuckets, bad, alerts] = await Promise.all([
          sliSeries(store, slo.sli, new Date(status.period.startMs), new Date(now), periodStep),
          sliSeries(store, slo.sli, new Date(fineFrom), new Date(now), FINE_STEP_MS),
          badEvents(store, slo.sli, new Date(status.period.startMs), new Date(now), 50),
          listInstances(store),
        ])
        return c.json({
          ...sloSummary(
            status,
            alerts.filter((a) => a.labels.slo === slo.id),
          ),
          history: {
            periodStepMs: periodStep,
            fineStepMs: FINE_STEP_MS,
            ...sloHistory(status, periodBuckets, fineBuckets, FINE_STEP_MS),
          },
          badEvents: bad.map((b) => ({
            subject: b.subject,
            kind: b.subject_kind || null,
            detail: b.detail || null,
            at: new Date(Number(b.at_ms)).toISOString(),
            lateMs: Number(b.late_ms),
          })),
        })
      },
    )
}
