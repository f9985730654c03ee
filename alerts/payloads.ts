import type { Notification, NotificationAlert } from './channels.ts'

/**
 * What each provider receives, in the provider's own published shape: Alertmanager's webhook v4 and
 * v2 `postableAlerts`, Slack's incoming webhook, PagerDuty Events v2. Tested against JSON Schemas of
 * those formats in test/fixtures.
 */

/** Alertmanager writes this for "no end yet" (Go's zero time), and receivers test for it. */
export const ZERO_TIME = '0001-01-01T00:00:00Z'

/** Alerts the notification is about, without the ones only acknowledged (PagerDuty alone hears of those). */
export const announced = (n: Notification) => n.alerts.filter((a) => a.status !== 'acknowledged')

/** Labels as Alertmanager expects them: `alertname` names the rule. */
const amLabels = (a: NotificationAlert): Record<string, string> => ({ alertname: a.rule, ...a.labels })

const amAnnotations = (a: NotificationAlert): Record<string, string> => ({ summary: a.summary })

/** The labels (or annotations) every alert shares with the same value, as Alertmanager computes them. */
function common(maps: ReadonlyArray<Readonly<Record<string, string>>>): Record<string, string> {
  const [first, ...rest] = maps
  if (!first) return {}
  return Object.fromEntries(Object.entries(first).filter(([k, v]) => rest.every((m) => m[k] === v)))
}

/** Alertmanager's webhook body, version 4 (alertmanager/notify/webhook): what its receivers parse. */
export function alertmanagerWebhook(n: Notification) {
  const alerts = announced(n).map((a) => ({
    status: a.status as 'firing' | 'resolved',
    labels: amLabels(a),
    annotations: amAnnotations(a),
    startsAt: a.startsAt,
    endsAt: a.endsAt ?? ZERO_TIME,
    generatorURL: a.url,
    fingerprint: a.id,
  }))
  return {
    version: '4' as const,
    groupKey: n.groupKey,
    truncatedAlerts: 0,
    status: n.status,
    receiver: n.receiver,
    groupLabels: { ...n.groupLabels },
    commonLabels: common(alerts.map((a) => a.labels)),
    commonAnnotations: common(alerts.map((a) => a.annotations)),
    externalURL: n.externalUrl,
    alerts,
  }
}

/**
 * Alertmanager v2 `postableAlerts` (POST /api/v2/alerts). Alertmanager resolves an alert whose
 * `endsAt` has passed, and Signalbox repeats a firing alert (acknowledged or not) every repeat
 * interval, so a firing alert is held until two repeats from now: a missed repeat does not resolve
 * it, a stopped Signalbox does.
 */
export function alertmanagerAlerts(n: Notification) {
  const holdUntil = new Date(Date.parse(n.sentAt) + 2 * n.repeatIntervalMs).toISOString()
  // Acknowledged in Signalbox is still firing for Alertmanager (it has silences, not acknowledgements).
  return n.alerts.map((a) => ({
    labels: amLabels(a),
    annotations: amAnnotations(a),
    startsAt: a.startsAt,
    endsAt: a.status === 'resolved' ? (a.endsAt ?? n.sentAt) : holdUntil,
    generatorURL: a.url,
  }))
}

/** Slack's control characters in text it formats (api.slack.com "Escaping text"): only these three. */
export const slackEscape = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')

export const title = (n: Notification) => {
  const firing = n.alerts.filter((a) => a.status === 'firing').length
  const what = Object.entries(n.groupLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')
  return n.status === 'firing' ? `[FIRING:${firing}] ${what}` : `[RESOLVED] ${what}`
}

/** Slack incoming webhook: `text` as the fallback, Block Kit for the message; what alerts say is escaped. */
export function slackMessage(n: Notification) {
  const alerts = announced(n)
  const lines = alerts
    .slice(0, 20)
    .map(
      (a) =>
        `${a.status === 'firing' ? '🔴' : '✅'} *${slackEscape(a.rule)}* (${slackEscape(a.severity)}) — ${slackEscape(a.summary)} <${a.url}|open>`,
    )
  if (alerts.length > 20) lines.push(`…and ${alerts.length - 20} more`)
  return {
    text: slackEscape(title(n)),
    blocks: [
      // plain_text is shown as written: not escaped.
      { type: 'header', text: { type: 'plain_text', text: title(n).slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n').slice(0, 3000) } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: slackEscape(`Signalbox · ${n.receiver} · ${n.sentAt}`) }],
      },
    ],
  }
}

/**
 * PagerDuty Events API v2: one event per alert, keyed by the alert's id (`dedup_key`), so a trigger,
 * its acknowledge and its resolve meet the same incident however notifications were grouped.
 */
export function pagerDutyEvents(n: Notification, routingKey: string) {
  return n.alerts.map((a) =>
    a.status === 'resolved' || a.status === 'acknowledged'
      ? {
          routing_key: routingKey,
          event_action: a.status === 'resolved' ? ('resolve' as const) : ('acknowledge' as const),
          dedup_key: a.id,
        }
      : {
          routing_key: routingKey,
          event_action: 'trigger' as const,
          dedup_key: a.id,
          payload: {
            summary: `${a.rule}: ${a.summary}`.slice(0, 1024),
            source: 'signalbox',
            severity: a.severity === 'page' ? ('critical' as const) : ('warning' as const),
            timestamp: a.startsAt,
            component: a.labels.connector ?? a.labels.system ?? a.labels.flow,
            group: a.labels.flow ?? a.labels.team,
            class: a.labels.sli ?? a.rule,
            custom_details: a.labels,
          },
          client: 'Signalbox',
          client_url: a.url,
        },
  )
}
