import { randomUUID } from 'node:crypto'
import { Hono } from 'hono'
import { createMiddleware } from 'hono/factory'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import { channelStatus } from '../../alerts/channel-status.ts'
import type { ChannelConfig } from '../../alerts/config.ts'
import { anyMatcherSchema, toAlertmanagerMatcher } from '../../alerts/matchers.ts'
import { OutOfScopeError } from '../../auth/scope.ts'
import { DAY_MS } from '../../core/duration.ts'
import { BadRequestError, NotFoundError } from '../../core/errors.ts'
import type { Store } from '../../store/client.ts'
import {
  appendTransitions,
  listDeliveries,
  listInstances,
  listSilences,
  listTransitions,
  saveSilence,
} from '../../store/queries/alerts.ts'
import {
  actingUser,
  body,
  formatOf,
  formatParameter,
  instant,
  isoFromMs,
  params,
  query,
  wholeNumber,
} from '../params.ts'
import { type ApiEnv, policy, scoped } from '../policy.ts'
import { alertView } from '../slo-view.ts'

const who = z.string().trim().min(1).max(200)
const idParam = z.object({ id: z.string().max(100) })
const SILENCE_FORMATS = ['signalbox', 'alertmanager'] as const

/**
 * Alerts, their history, acknowledgements, silences and the notification log. Until authentication
 * exists (the security issue) the person acting is named in the request body.
 */
export function alertRoutes(
  store: Store,
  receivers: ReadonlyMap<string, readonly ChannelConfig[]> = new Map(),
) {
  /** One alert (the policy refused it already when outside the caller's scope). */
  const one = async (id: string) => {
    const [a] = await listInstances(store, { id })
    if (!a) throw new NotFoundError(`no alert '${id.slice(0, 100)}'`)
    return a
  }
  const oneAlert = { param: 'id', names: 'alert' } as const
  return new Hono<ApiEnv>()
    .get(
      '/notification-channels',
      describeRoute({
        tags: ['alerts'],
        summary:
          "Each receiver's channels (alerts.yaml) and whether it can send: a channel whose secret's variable is not set would record not_configured instead",
        responses: { 200: { description: 'Channels, and how many cannot send' } },
      }),
      // Names of receivers and of environment variables only: no entity data, no secret values.
      policy({ role: 'viewer', scope: 'none' }),
      (c) => {
        const channels = channelStatus(receivers)
        return c.json({
          channels,
          unconfigured: channels.filter((ch) => !ch.configured).length,
          // No channel at all can send: every alert stays inside Signalbox.
          nobodyNotified: channels.every((ch) => !ch.configured),
        })
      },
    )
    .get(
      '/alerts',
      describeRoute({
        tags: ['alerts'],
        summary: 'Alert instances (firing first) and recent state changes',
        responses: { 200: { description: 'Alerts and their history' } },
      }),
      policy({ role: 'viewer', scope: 'narrowed' }),
      query(
        z.object({
          state: z.enum(['normal', 'pending', 'firing', 'resolved', 'nodata', 'error']).optional(),
          days: wholeNumber(1, 90).default(7).describe('History to include'),
        }),
      ),
      async (c) => {
        const q = c.req.valid('query')
        const visible = scoped(c)
        const [all, allHistory] = await Promise.all([
          listInstances(store, q.state ? { states: [q.state] } : {}),
          listTransitions(store, { since: new Date(Date.now() - q.days * DAY_MS), limit: 500 }),
        ])
        const seen = await visible.alerts()
        const alerts = all.filter(seen)
        const history = allHistory.filter(seen)
        const order = ['firing', 'pending', 'error', 'nodata', 'resolved', 'normal']
        alerts.sort((a, b) => order.indexOf(a.state) - order.indexOf(b.state) || a.rule.localeCompare(b.rule))
        return c.json({
          alerts: alerts.map(alertView),
          history: history.map((t) => ({
            at: isoFromMs(t.at_ms),
            id: t.id,
            rule: t.rule,
            severity: t.severity,
            labels: t.labels,
            from: t.from_state,
            to: t.to_state,
            reason: t.reason,
            actor: t.actor || null,
          })),
        })
      },
    )
    .get(
      '/alerts/:id',
      describeRoute({
        tags: ['alerts'],
        summary: 'One alert with its transitions and the notifications sent for it',
        responses: { 200: { description: 'The alert' }, 404: { description: 'No such alert' } },
      }),
      policy({ role: 'viewer', scope: oneAlert }),
      params(idParam),
      async (c) => {
        const a = await one(c.req.valid('param').id)
        const since = new Date(Date.now() - 90 * DAY_MS)
        const [history, notifications] = await Promise.all([
          listTransitions(store, { id: a.id, since, limit: 200 }),
          listDeliveries(store, { since, alertId: a.id, limit: 200 }),
        ])
        return c.json({
          alert: alertView(a),
          history: history.map((t) => ({
            at: isoFromMs(t.at_ms),
            from: t.from_state,
            to: t.to_state,
            reason: t.reason,
            actor: t.actor || null,
          })),
          notifications: notifications.map((d) => ({
            at: isoFromMs(d.at_ms),
            receiver: d.receiver,
            channel: d.channel,
            status: d.status,
            attempt: d.attempt,
            outcome: d.outcome,
            httpStatus: d.http_status || null,
            error: d.error || null,
          })),
        })
      },
    )
    .post(
      '/alerts/:id/ack',
      describeRoute({
        tags: ['alerts'],
        summary: 'Acknowledge a firing alert: no repeats until it resolves (a new firing needs a new ack)',
        responses: {
          200: { description: 'Acknowledged' },
          404: { description: 'No such alert' },
          409: { description: 'Not firing' },
        },
      }),
      policy({ role: 'operator', scope: oneAlert }),
      params(idParam),
      body(z.object({ by: who.optional(), comment: z.string().max(2000).default('') })),
      async (c) => {
        const a = await one(c.req.valid('param').id)
        if (a.state !== 'firing')
          throw new BadRequestError(
            'not_firing',
            `alert ${a.id} is ${a.state}; only a firing alert can be acknowledged`,
          )
        const { comment } = c.req.valid('json')
        // With authentication, the token's name is who acted, whatever the body says.
        const by = actingUser(c, c.req.valid('json').by)
        const now = Date.now()
        await appendTransitions(store, [
          {
            atMs: now,
            id: a.id,
            rule: a.rule,
            severity: a.severity,
            labels: a.labels,
            from: a.state,
            to: 'acknowledged',
            reason: comment,
            value: a.value,
            actor: by,
          },
        ])
        return c.json({ alert: alertView(await one(a.id)) })
      },
    )
    .get(
      '/silences',
      describeRoute({
        tags: ['alerts'],
        summary:
          "Silences that are active or scheduled; format=alertmanager answers Alertmanager v2's gettableSilences array",
        parameters: [formatParameter(SILENCE_FORMATS, "alertmanager: Alertmanager v2's gettableSilences")],
        responses: { 200: { description: 'Silences' } },
      }),
      policy({ role: 'viewer', scope: 'narrowed' }),
      // Another shape than the route's typed answer: answered here, so the web client's types stay.
      createMiddleware<ApiEnv>(async function alertmanagerFormat(c, next) {
        if (formatOf(c, SILENCE_FORMATS) !== 'alertmanager') return next()
        const visible = scoped(c)
        const now = Date.now()
        const silences = (await listSilences(store, now)).filter((s) => visible.silence(s.matchers).visible)
        return c.json(silences.map((s) => alertmanagerSilence(s, now)))
      }),
      async (c) => {
        const visible = scoped(c)
        const silences = (await listSilences(store, Date.now())).filter(
          (s) => visible.silence(s.matchers).visible,
        )
        return c.json({ silences: silences.map(silenceView) })
      },
    )
    .post(
      '/silences',
      describeRoute({
        tags: ['alerts'],
        summary:
          'Silence alerts matching label matchers until an expiry (they keep their state, nobody is notified)',
        responses: { 201: { description: 'The silence' }, 400: { description: 'Invalid silence' } },
      }),
      policy({ role: 'operator', scope: 'narrowed' }),
      body(
        z.object({
          matchers: z
            .array(anyMatcherSchema)
            .min(1)
            .max(20)
            .describe(
              'Alertmanager matchers: "slo = order_reaches_erp", or v2 objects {name, value, isRegex, isEqual}',
            ),
          startsAt: instant.optional(),
          endsAt: instant,
          createdBy: who.optional(),
          comment: z.string().trim().min(1, 'say why').max(2000),
        }),
      ),
      async (c) => {
        const b = c.req.valid('json')
        const now = Date.now()
        const startsAtMs = b.startsAt ? Date.parse(b.startsAt) : now
        const endsAtMs = Date.parse(b.endsAt)
        if (endsAtMs <= Math.max(now, startsAtMs))
          throw new BadRequestError('invalid_parameter', 'endsAt: must be in the future and after startsAt')
        // A scoped caller silences only within its scope: each dimension it is limited in pinned by `=`.
        if (!scoped(c).silence(b.matchers).confined)
          throw new OutOfScopeError(
            "matchers: a scoped token's silence must pin each flow, channel or system it is limited to (flow = …), within its scope",
          )
        const silence = {
          id: randomUUID(),
          matchers: b.matchers,
          startsAtMs,
          endsAtMs,
          createdBy: actingUser(c, b.createdBy, 'createdBy'),
          comment: b.comment,
          createdAtMs: now,
        }
        await saveSilence(store, silence, now)
        return c.json({ silence: silenceView(silence) }, 201)
      },
    )
    .delete(
      '/silences/:id',
      describeRoute({
        tags: ['alerts'],
        summary: 'Expire a silence now',
        responses: { 200: { description: 'Expired' }, 404: { description: 'No such active silence' } },
      }),
      policy({ role: 'operator', scope: { param: 'id', names: 'silence' } }),
      params(idParam),
      async (c) => {
        const now = Date.now()
        const silence = (await listSilences(store, now)).find((s) => s.id === c.req.valid('param').id)
        if (!silence) throw new NotFoundError(`no active silence '${c.req.valid('param').id}'`)
        const expired = { ...silence, endsAtMs: now }
        await saveSilence(store, expired, now)
        return c.json({ silence: silenceView(expired) })
      },
    )
    .get(
      '/notifications',
      describeRoute({
        tags: ['alerts'],
        summary: 'The notification log: every delivery attempt, newest first',
        responses: { 200: { description: 'Attempts' } },
      }),
      policy({ role: 'viewer', scope: 'narrowed' }),
      query(
        z.object({
          days: wholeNumber(1, 90).default(7),
          limit: wholeNumber(1, 1000).default(200),
        }),
      ),
      async (c) => {
        const q = c.req.valid('query')
        const visible = scoped(c)
        const all = await listDeliveries(store, {
          since: new Date(Date.now() - q.days * DAY_MS),
          limit: visible.readRows(q.limit),
        })
        // A notification is shown when every alert it was about is.
        const alerts = visible.limited
          ? new Map((await listInstances(store)).map((a) => [a.id, a]))
          : undefined
        const seen = await visible.alerts()
        const shown = (id: string) => {
          const a = alerts?.get(id)
          return !alerts || (a !== undefined && seen(a))
        }
        const rows = all.filter((d) => d.alert_ids.every(shown)).slice(0, q.limit)
        return c.json({
          notifications: rows.map((d) => ({
            at: isoFromMs(d.at_ms),
            id: d.notification_id,
            group: d.group_key,
            receiver: d.receiver,
            channel: d.channel,
            status: d.status,
            alerts: d.alert_ids,
            attempt: d.attempt,
            outcome: d.outcome,
            httpStatus: d.http_status || null,
            error: d.error || null,
          })),
        })
      },
    )
}

interface SilenceRecord {
  id: string
  matchers: ReadonlyArray<{ name: string; op: string; value: string }>
  startsAtMs: number
  endsAtMs: number
  createdBy: string
  comment: string
  createdAtMs: number
}

/** Alertmanager v2's `gettableSilence`, so tools written for Alertmanager read Signalbox's silences. */
function alertmanagerSilence(s: SilenceRecord, nowMs: number) {
  const state = nowMs < s.startsAtMs ? 'pending' : nowMs < s.endsAtMs ? 'active' : 'expired'
  return {
    id: s.id,
    status: { state },
    updatedAt: isoFromMs(s.createdAtMs),
    matchers: s.matchers.map(toAlertmanagerMatcher),
    startsAt: isoFromMs(s.startsAtMs),
    endsAt: isoFromMs(s.endsAtMs),
    createdBy: s.createdBy,
    comment: s.comment,
  }
}

function silenceView(s: SilenceRecord) {
  return {
    id: s.id,
    matchers: s.matchers.map((m) => `${m.name} ${m.op} ${JSON.stringify(m.value)}`),
    startsAt: isoFromMs(s.startsAtMs),
    endsAt: isoFromMs(s.endsAtMs),
    createdBy: s.createdBy,
    comment: s.comment,
    createdAt: isoFromMs(s.createdAtMs),
  }
}
