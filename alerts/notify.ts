import { randomUUID } from 'node:crypto'
import type { Logger } from '../core/logger.ts'
import { isTransient, type RetryPolicy, retryDelayMs } from '../core/retry.ts'
import type { Store } from '../store/client.ts'
import {
  type AlertInstance,
  appendDelivery,
  type GroupState,
  listGroups,
  listSilences,
  saveGroup,
} from '../store/queries/alerts.ts'
import { type Delivery, deliveries, type Notification, type NotificationAlert } from './channels.ts'
import type { AlertingConfig, Route } from './config.ts'
import type { EvaluatorMetrics } from './evaluator-metrics.ts'
import { alertLabels, groupKey, routesFor, silencedBy } from './routing.ts'

/** Without jitter: the delivery log shows the same waits every time (1, 2, 4, 8 s). */
export const DELIVERY_RETRY: RetryPolicy = {
  attempts: 5,
  baseDelayMs: 1_000,
  maxDelayMs: 60_000,
  jitter: 'none',
}

export interface NotifyDeps {
  readonly store: Store
  readonly alerting: AlertingConfig
  readonly log: Logger
  readonly env: NodeJS.ProcessEnv
  readonly retry: RetryPolicy
  /** Where links in notifications point: the UI's address as on-call engineers reach it. */
  readonly publicUrl: string
  readonly metrics?: EvaluatorMetrics
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

/** Any URL in a text, replaced: a webhook URL's credentials or path are as secret as a key. */
const withoutUrls = (text: string) => text.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>')

/**
 * Sends one delivery, retrying 429, 5xx and network failures with exponential backoff (honouring
 * Retry-After) and giving up at once on any other 4xx. Every attempt is logged in the store.
 */
async function deliver(
  deps: NotifyDeps,
  d: Delivery,
  record: (
    attempt: number,
    outcome: 'delivered' | 'retrying' | 'failed' | 'not_configured',
    status: number,
    error: string,
  ) => Promise<void>,
) {
  if (d.missing) return record(0, 'not_configured', 0, d.missing)
  for (let attempt = 1; attempt <= deps.retry.attempts; attempt++) {
    let status = 0
    let retryAfterMs: number | undefined
    let error = ''
    try {
      ;({ status, retryAfterMs } = await d.send())
    } catch (err) {
      // The message only: a URL or key could sit in a stack or a cause. A message may quote the URL
      // itself (fetch refuses one with credentials so), and a URL is a secret: its path can be a token.
      error = err instanceof Error ? withoutUrls(err.message.slice(0, 2000)).slice(0, 300) : 'delivery failed'
    }
    if (status >= 200 && status < 300) return record(attempt, 'delivered', status, '')
    const last = attempt === deps.retry.attempts || !isTransient(status)
    await record(attempt, last ? 'failed' : 'retrying', status, error || `HTTP ${status}`)
    if (last) {
      deps.log.warn({ channel: d.channel, status, attempt }, 'notification delivery failed')
      return
    }
    await sleep(retryDelayMs(deps.retry, attempt, retryAfterMs))
  }
}

interface Group {
  readonly key: string
  readonly route: Route
  readonly labels: Record<string, string>
  readonly alerts: AlertInstance[]
}

const acknowledged = (a: AlertInstance): AlertInstance => ({ ...a, state: 'acknowledged' })

/** A group's last notification as saved: firing alert ids, and `<id>~ack` for those acknowledged since. */
const ACKED = '~ack'

/**
 * Decides, per notification group, whether to notify now (group wait for a new group, group interval
 * after a change, repeat interval while unchanged and firing) and sends. Silenced and inhibited alerts
 * are left out; a resolved alert is announced only to a group that was told it fired. An alert
 * acknowledged after it was announced is not repeated to people, and its acknowledgement goes out at
 * once (to PagerDuty, the one channel with acknowledgements); its resolve is still announced.
 */
export async function notify(deps: NotifyDeps, instances: readonly AlertInstance[], nowMs: number) {
  const silences = await listSilences(deps.store, nowMs)
  const groups = new Map<string, Group>()
  for (const a of instances) {
    if (a.state !== 'firing' && a.state !== 'resolved') continue
    const labels = alertLabels(a)
    if (a.state === 'firing' && (a.suppressedBy || silencedBy(silences, labels, nowMs))) continue
    for (const route of routesFor(deps.alerting.route, labels)) {
      const key = groupKey(route, labels)
      const group: Group = groups.get(key) ?? {
        key,
        route,
        labels: Object.fromEntries(route.groupBy.map((l) => [l, labels[l] ?? ''])),
        alerts: [],
      }
      group.alerts.push(a)
      groups.set(key, group)
    }
  }
  const sent = await listGroups(deps.store)
  const sends: Promise<void>[] = []
  for (const group of groups.values()) {
    const prev = sent.get(group.key)
    const entries = prev?.fingerprint ? prev.fingerprint.split(',') : []
    const told = new Set(entries.map((e) => e.replace(ACKED, '')))
    const toldAcked = new Set(entries.filter((e) => e.endsWith(ACKED)).map((e) => e.replace(ACKED, '')))
    const firing = group.alerts.filter((a) => a.state === 'firing' && !a.ackedBy)
    const acked = group.alerts.filter((a) => a.state === 'firing' && a.ackedBy && told.has(a.id))
    const newlyAcked = acked.filter((a) => !toldAcked.has(a.id))
    const resolved = group.alerts.filter((a) => a.state === 'resolved' && told.has(a.id))
    if (firing.length === 0 && resolved.length === 0 && acked.length === 0) continue
    const firingPrint = firing
      .map((a) => a.id)
      .sort()
      .join(',')
    const prevFiringPrint = entries.filter((e) => !e.endsWith(ACKED)).join(',')
    const fingerprint = [firingPrint, ...acked.map((a) => `${a.id}${ACKED}`).sort()].filter(Boolean).join(',')
    const since = prev ? nowMs - prev.sentAtMs : 0
    // A group whose last notification left nothing firing starts afresh (group wait), unless it
    // still holds acknowledged alerts whose resolve is owed.
    const due =
      !prev || (prev.firing === 0 && toldAcked.size === 0)
        ? firing.length > 0 &&
          nowMs - Math.min(...firing.map((a) => a.firedAtMs ?? nowMs)) >= group.route.groupWaitMs
        : firingPrint !== prevFiringPrint || resolved.length > 0
          ? since >= group.route.groupIntervalMs
          : firing.length + acked.length > 0 && since >= group.route.repeatIntervalMs
    if (!due && newlyAcked.length === 0) continue
    // The group's state is saved before sending: a crash mid-send loses a notification's retries,
    // never sends it twice. An acknowledgement alone does not restart the group's intervals.
    const state: GroupState = {
      key: group.key,
      receiver: group.route.receiver,
      sentAtMs: due || !prev ? nowMs : prev.sentAtMs,
      fingerprint: due
        ? fingerprint
        : [prevFiringPrint, ...acked.map((a) => `${a.id}${ACKED}`).sort()].filter(Boolean).join(','),
      firing: due ? firing.length : (prev?.firing ?? 0),
    }
    await saveGroup(deps.store, state, nowMs)
    // Acknowledged alerts ride along with every notification (and repeat): PagerDuty is told again
    // that they are acknowledged, an Alertmanager that they still fire; the other channels skip them.
    const alerts = [...(due ? [...firing, ...resolved] : []), ...(due ? acked : newlyAcked).map(acknowledged)]
    sends.push(send(deps, group, alerts, nowMs))
  }
  await Promise.all(sends)
}

async function send(deps: NotifyDeps, group: Group, alerts: readonly AlertInstance[], nowMs: number) {
  const notification: Notification = {
    id: `msg_${randomUUID()}`,
    groupKey: group.key,
    receiver: group.route.receiver,
    // Resolved when no alert it announces fires; an acknowledgement alone is about a firing alert.
    status:
      !alerts.some((a) => a.state === 'firing') && alerts.some((a) => a.state === 'resolved')
        ? 'resolved'
        : 'firing',
    groupLabels: group.labels,
    alerts: alerts.map(
      (a): NotificationAlert => ({
        id: a.id,
        status: a.state as NotificationAlert['status'],
        rule: a.rule,
        severity: a.severity,
        labels: alertLabels(a),
        summary: a.reason,
        startsAt: iso(a.firedAtMs ?? a.sinceMs) as string,
        endsAt: a.state === 'resolved' ? iso(a.sinceMs) : null,
        url: `${deps.publicUrl}/#/alerts/${a.id}`,
      }),
    ),
    sentAt: new Date(nowMs).toISOString(),
    externalUrl: deps.publicUrl,
    repeatIntervalMs: group.route.repeatIntervalMs,
  }
  const channels = deps.alerting.receivers.get(group.route.receiver) ?? []
  await Promise.all(
    channels.flatMap((cfg) =>
      deliveries(cfg, notification, deps.env).map((d) =>
        deliver(deps, d, (attempt, outcome, status, error) => {
          deps.metrics?.deliveries.inc({ channel: d.channel, outcome })
          return appendDelivery(deps.store, {
            atMs: Date.now(),
            notificationId: notification.id,
            groupKey: group.key,
            receiver: group.route.receiver,
            channel: d.channel,
            status: notification.alerts.every((a) => a.status === 'acknowledged')
              ? 'acknowledged'
              : notification.status,
            alertIds: alerts.map((a) => a.id),
            attempt,
            outcome,
            httpStatus: status,
            error,
          })
        }),
      ),
    ),
  )
}
