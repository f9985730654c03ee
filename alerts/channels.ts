import nodemailer from 'nodemailer'
import { Webhook } from 'standardwebhooks'
import { retryAfterMs } from '../core/retry.ts'
import type { ChannelConfig } from './config.ts'
import {
  alertmanagerAlerts,
  alertmanagerWebhook,
  announced,
  pagerDutyEvents,
  slackMessage,
  title,
} from './payloads.ts'

/**
 * What a notification says, whatever the channel; alerts/payloads.ts writes it in each provider's
 * shape. `acknowledged` is an alert acknowledged in Signalbox since it was announced: only channels
 * with an acknowledgement of their own (PagerDuty) hear of it.
 */
export interface NotificationAlert {
  /** A hash of the rule and labels: Alertmanager's `fingerprint`, PagerDuty's `dedup_key`. */
  readonly id: string
  readonly status: 'firing' | 'resolved' | 'acknowledged'
  readonly rule: string
  readonly severity: string
  readonly labels: Readonly<Record<string, string>>
  readonly summary: string
  readonly startsAt: string
  readonly endsAt: string | null
  /** The alert in Signalbox's UI: Alertmanager's `generatorURL`. */
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
  /** Signalbox's UI as on-call engineers reach it: Alertmanager's `externalURL`. */
  readonly externalUrl: string
  /** How often the route repeats a firing alert (Alertmanager holds pushed alerts that long). */
  readonly repeatIntervalMs: number
}

export type ChannelKind = 'webhook' | 'slack' | 'pagerduty' | 'email' | 'alertmanager'

/** One HTTP request (or one email) a channel needs for a notification. */
export interface Delivery {
  readonly channel: ChannelKind
  /** Why it cannot be sent (a secret's environment variable is not set), instead of sending. */
  readonly missing?: string
  send(): Promise<{ status: number; retryAfterMs?: number }>
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
      text: announced(n)
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
  // Alertmanager's webhook v4 body, so receivers written for Alertmanager take it as it is.
  webhook: (cfg, n, env) => {
    const url = cfg.url ?? env[cfg.url_env ?? '']
    const secret = cfg.secret_env ? env[cfg.secret_env] : undefined
    if (announced(n).length === 0) return []
    if (!url) return unset('webhook', cfg.url_env ?? 'url')
    if (cfg.secret_env && !secret) return unset('webhook', cfg.secret_env)
    const send = () => {
      const body = JSON.stringify(alertmanagerWebhook(n))
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
    if (announced(n).length === 0) return []
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
    if (announced(n).length === 0) return []
    if (!smtp) return unset('email', cfg.smtp_url_env)
    return [{ channel: 'email', send: () => sendMail(smtp, cfg, n) }]
  },
  // Alertmanager as a receiver: its own routing, silences and inhibition take over from here.
  alertmanager: (cfg, n, env) => {
    const base = cfg.url ?? env[cfg.url_env ?? '']
    if (!base) return unset('alertmanager', cfg.url_env ?? 'url')
    const url = `${base.replace(/\/+$/, '')}/api/v2/alerts`
    return [{ channel: 'alertmanager', send: () => post(url, JSON.stringify(alertmanagerAlerts(n))) }]
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
