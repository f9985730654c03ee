import { Hono } from 'hono'
import { createMiddleware } from 'hono/factory'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import { exportOpenSlo } from '../../alerts/openslo/export.ts'
import { badEvents, sliSeries } from '../../alerts/sli-kinds.ts'
import { sloStatus } from '../../alerts/slo-status.ts'
import type { SloDefinition } from '../../alerts/spec.ts'
import { DAY_MS, MINUTE_MS } from '../../core/duration.ts'
import { NotFoundError } from '../../core/errors.ts'
import type { Store } from '../../store/client.ts'
import { listInstances } from '../../store/queries/alerts.ts'
import type { BadEvent } from '../../store/queries/sli.ts'
import { formatOf, formatParameter, params } from '../params.ts'
import { type ApiEnv, policy, scoped } from '../policy.ts'
import { sloHistory, sloSummary } from '../slo-view.ts'
import type { Visibility } from '../visibility.ts'

const FINE_STEP_MS = 5 * MINUTE_MS
const SLO_FORMATS = ['signalbox', 'openslo'] as const

/**
 * SLOs: where each stands now, and one SLO's budget and burn over time with what burned it.
 * `written` is slos.yaml as its author wrote it, for the OpenSLO export.
 */
export function sloRoutes(
  store: Store,
  slos: readonly SloDefinition[],
  written: Readonly<Record<string, Record<string, unknown>>> = {},
) {
  const named = (id: string) => {
    const slo = slos.find((s) => s.id === id)
    if (!slo)
      throw new NotFoundError(`no SLO '${id.slice(0, 100)}'; configured: ${slos.map((s) => s.id).join(', ')}`)
    return slo
  }
  return new Hono<ApiEnv>()
    .get(
      '/slos',
      describeRoute({
        tags: ['slos'],
        summary:
          'Every SLO with its SLI, remaining budget and burn rates, least budget first; format=openslo answers the SLOs as OpenSLO v1 YAML',
        parameters: [formatParameter(SLO_FORMATS, 'openslo: the SLOs as OpenSLO v1 YAML documents')],
        responses: {
          200: {
            description: 'SLOs from slos.yaml with their status, or OpenSLO v1 documents (application/yaml)',
          },
        },
      }),
      policy({ role: 'viewer', scope: 'narrowed' }),
      // Another shape than the route's typed answer: answered here, so the web client's types stay.
      createMiddleware<ApiEnv>(async function openSloFormat(c, next) {
        if (formatOf(c, SLO_FORMATS) !== 'openslo') return next()
        const visible = scoped(c)
        const shown = Object.fromEntries(
          slos
            .filter((slo) => visible.slo(slo) && written[slo.id])
            .map((slo) => [slo.id, written[slo.id] ?? {}]),
        )
        return c.body(exportOpenSlo(shown), 200, { 'content-type': 'application/yaml; charset=utf-8' })
      }),
      async (c) => {
        const visible = scoped(c)
        const now = Date.now()
        const alerts = await listInstances(store)
        const list = await Promise.all(
          slos
            .filter((slo) => visible.slo(slo))
            .map(async (slo) =>
              sloSummary(
                await sloStatus(store, slo, now),
                alerts.filter((a) => a.labels.slo === slo.id && visible.alert(a)),
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
      // The SLO is checked by the policy; the entities and traces that burned its budget here.
      policy({ role: 'viewer', scope: { param: 'id', names: 'slo', narrowed: true } }),
      params(z.object({ id: z.string().max(200).describe('An SLO id from slos.yaml') })),
      async (c) => {
        const slo = named(c.req.valid('param').id)
        const visible = scoped(c)
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
            alerts.filter((a) => a.labels.slo === slo.id && visible.alert(a)),
          ),
          history: {
            periodStepMs: periodStep,
            fineStepMs: FINE_STEP_MS,
            ...sloHistory(status, periodBuckets, fineBuckets, FINE_STEP_MS),
          },
          badEvents: (await burnedInScope(visible, bad)).map((b) => ({
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

/**
 * The bad events a scope sees: those about an entity in scope, or a trace in scope; those about no
 * subject (an absence SLI's silent minutes) belong to the SLO alone, which the scope already sees.
 */
async function burnedInScope(visible: Visibility, bad: readonly BadEvent[]): Promise<BadEvent[]> {
  if (!visible.limited) return [...bad]
  const entities = bad.filter((b) => b.subject !== '' && b.subject_kind !== 'trace')
  const seen = await visible.entities(entities.map((b) => ({ type: b.subject_kind, id: b.subject })))
  const traces = await visible.traceIds(bad.filter((b) => b.subject_kind === 'trace').map((b) => b.subject))
  return bad.filter((b) =>
    b.subject === ''
      ? true
      : b.subject_kind === 'trace'
        ? traces.has(b.subject)
        : seen({ type: b.subject_kind, id: b.subject }),
  )
}
