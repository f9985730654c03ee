import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { FlowDefinition } from '../core/flows.ts'
import { deliveries, type Notification } from './channels.ts'
import { type ChannelConfig, loadAlerting } from './config.ts'

/** Whether one channel of a receiver can send, and if not, the setting it lacks. */
export interface ChannelStatus {
  readonly receiver: string
  readonly channel: string
  readonly configured: boolean
  /** Why it cannot send (`SIGNALBOX_SLACK_WEBHOOK_URL is not set`); null when it can. */
  readonly missing: string | null
}

/** A notification to ask each channel what it would need; nothing is sent. */
const PROBE: Notification = {
  id: 'probe',
  groupKey: 'probe',
  receiver: 'probe',
  status: 'firing',
  groupLabels: {},
  alerts: [
    {
      id: 'probe',
      status: 'firing',
      rule: 'probe',
      severity: 'ticket',
      labels: {},
      summary: '',
      startsAt: new Date(0).toISOString(),
      endsAt: null,
      url: '',
    },
  ],
  sentAt: new Date(0).toISOString(),
  externalUrl: '',
  repeatIntervalMs: 0,
}

/**
 * Every receiver's channels as the evaluator would find them: the same check that records
 * `not_configured` in the notification log, asked before any alert fires, so the UI can say that
 * nobody would be told. Read from this process's environment; where the alert evaluator runs as a
 * process of its own (`signalbox alerts`), give both the same settings.
 */
export function channelStatus(
  receivers: ReadonlyMap<string, readonly ChannelConfig[]>,
  env: NodeJS.ProcessEnv = process.env,
): ChannelStatus[] {
  return [...receivers].flatMap(([receiver, channels]) =>
    channels.map((cfg) => {
      const missing = deliveries(cfg, PROBE, env).find((d) => d.missing)?.missing ?? null
      return { receiver, channel: Object.keys(cfg)[0] ?? '', configured: missing === null, missing }
    }),
  )
}

/** The receivers of `alerts.yaml`, or none when the file is absent (an api without alerting). */
export function configuredReceivers(
  configDir: string,
  flows: ReadonlyMap<string, FlowDefinition>,
): ReadonlyMap<string, readonly ChannelConfig[]> {
  if (!existsSync(join(configDir, 'alerts.yaml'))) return new Map()
  return loadAlerting(configDir, flows).receivers
}
