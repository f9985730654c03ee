import nodemailer from 'nodemailer'
import { Webhook } from 'standardwebhooks'
import { retryAfterMs } from '../core/retry.ts'
import type { ChannelConfig } from './config.ts'

/** What a notification says, whatever the channel: Alertmanager's webhook shape, close enough to map. */
export interface NotificationAlert {
  readonly id: string
  readonly status: 'firing' | 'resolved'
  readonly rule: string
  readonly severity: string
  readonly labels: Readonly<Record<string, string>>
  readonly summary: string
  readonly startsAt: string
  readonly endsAt: string | null
  readonly url: string
}

export interface Notification {
  readonly id: string
  readonly groupKey: string
  readonly receiver: string
  readonly status: 'firing' | 'resolved'
  readonly groupLabels: Readonly<Record<string, string>>
  readonly alerts: readonly NotificationAlert[]
  readonly sentAt: string
}

/** One HTTP request (or one email) a channel needs for a notification. */
export interface Delivery {
  readonly channel: 'webhook' | 'slack' | 'pagerduty' | 'email'
  /** Why it cannot be sent (a secret's environment variable is not set), instead of sending. */
  readonly missing?: string
  send(): Promise<{ status: number; retryAfterMs?: number }>
}

const title = (n: Notification) => {
  const firing = n.alerts.filter((a) => a.status === 'firing').length
  const what = Object.entries(n.groupLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')
  return n.status === 'firing' ? `[FIRING:${firing}] ${what}` : `[RESOLVED] ${what}`
}

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(10_000),
  })
  await res.arrayBuffer()
  return { status: res.status, retryAfterMs: retryAfterMs(res.headers.get('retry-after')) }
}

/** Slack incoming webhook: `text` as the fallback, Block Kit for the message. */
export function slackMessage(n: Notification) {
  const lines = n.alerts
    .slice(0, 20)
    .map(
      (a) =>
        `${a.status === 'firing' ? '🔴' : '✅'} *${a.rule}* (${a.severity}) — ${a.summary} <${a.url}|open>`,
    )
  if (n.alerts.length > 20) lines.push(`…and ${n.alerts.length - 20} more`)
  return {
    text: title(n),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title(n).slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n').slice(0, 3000) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `Signalbox · ${n.receiver} · ${n.sentAt}` }] },
    ],
  }
}

/**
 * PagerDuty Events API v2: one event per alert, keyed by the alert's id (`dedup_key`), so a trigger
 * and its resolve meet the same incident however notifications were grouped.
 */
export function pagerDutyEvents(n: Notification, routingKey: string) {
  return n.alerts.map((a) =>
    a.status === 'resolved'
      ? { routing_key: routingKey, event_action: 'resolve' as const, dedup_key: a.id }
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

type ChannelKind = 'webhook' | 'slack' | 'pagerduty' | 'email'
type Settings<K extends ChannelKind> = Extract<ChannelConfig, Record<K, unknown>>[K]
type Channel<K extends ChannelKind> = (
  cfg: Settings<K>,
  n: Notification,
  env: NodeJS.ProcessEnv,
) => Delivery[]

/** A channel whose secret's variable is not set: logged as `not_configured`, never sent. */
const unset = (channel: ChannelKind, variable: string): Delivery[] => [
  { channel, missing: `${variable} is not set`, send: async () => ({ status: 0 }) },
]

/** SMTP's 4xx replies are transient and 5xx permanent: mapped onto the HTTP status the delivery loop reads. */
async function sendMail(smtpUrl: string, cfg: Settings<'email'>, n: Notification) {
  const transport = nodemailer.createTransport(smtpUrl)
  try {
    await transport.sendMail({
      from: cfg.from,
      to: [...cfg.to],
      subject: title(n),
      text: n.alerts
        .map((a) => `${a.status.toUpperCase()} ${a.rule} (${a.severity})\n${a.summary}\n${a.url}\n`)
        .join('\n'),
    })
    return { status: 200 }
  } catch (err) {
    const code = (err as { responseCode?: number }).responseCode ?? 0
    if (code >= 500) return { status: 400 }
    if (code >= 400) return { status: 503 }
    throw err
  } finally {
    transport.close()
  }
}

/** Every channel, by its key in `alerts.yaml`: how a notification becomes requests. */
const CHANNELS: { [K in ChannelKind]: Channel<K> } = {
  // Signed per Standard Webhooks: the notification id is the `webhook-id` (receivers dedupe on it).
  webhook: (cfg, n, env) => {
    const url = cfg.url ?? env[cfg.url_env ?? '']
    const secret = cfg.secret_env ? env[cfg.secret_env] : undefined
    if (!url) return unset('webhook', cfg.url_env ?? 'url')
    if (cfg.secret_env && !secret) return unset('webhook', cfg.secret_env)
    const send = () => {
      const body = JSON.stringify({ version: '1', ...n })
      const at = new Date()
      const headers: Record<string, string> = secret
        ? {
            'webhook-id': n.id,
            'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
            'webhook-signature': new Webhook(secret).sign(n.id, at, body),
          }
        : {}
      return post(url, body, headers)
    }
    return [{ channel: 'webhook', send }]
  },
  slack: (cfg, n, env) => {
    const url = env[cfg.url_env]
    if (!url) return unset('slack', cfg.url_env)
    return [{ channel: 'slack', send: () => post(url, JSON.stringify(slackMessage(n))) }]
  },
  pagerduty: (cfg, n, env) => {
    const key = env[cfg.routing_key_env]
    if (!key) return unset('pagerduty', cfg.routing_key_env)
    return pagerDutyEvents(n, key).map((event) => ({
      channel: 'pagerduty',
      send: () => post(cfg.url, JSON.stringify(event)),
    }))
  },
  email: (cfg, n, env) => {
    const smtp = env[cfg.smtp_url_env]
    if (!smtp) return unset('email', cfg.smtp_url_env)
    return [{ channel: 'email', send: () => sendMail(smtp, cfg, n) }]
  },
}

/** The requests a channel makes for one notification. */
export function deliveries(
  cfg: ChannelConfig,
  n: Notification,
  env: NodeJS.ProcessEnv = process.env,
): Delivery[] {
  const kind = Object.keys(cfg)[0] as ChannelKind
  return (CHANNELS[kind] as Channel<ChannelKind>)((cfg as Record<ChannelKind, never>)[kind], n, env)
}
