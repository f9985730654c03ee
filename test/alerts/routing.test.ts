import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  RULE_KINDS,
  type RuleKind,
  type RuleOfKind,
  type RuleSettings,
  ruleValues,
} from '../../alerts/rules.ts'
import { loadBatches } from '../../core/batches.ts'
import { loadFlows } from '../../core/flows.ts'
import { createLogger } from '../../core/logger.ts'
import { recordException } from '../../store/queries/exceptions.ts'
import { configDir, DAY, evaluator, HOUR, MINUTE, seedRuns, useAlerting } from '../support/alerting.ts'

const fx = useAlerting()

const slo = (id: string, connector: string, extra = '') => `
${id}:
  description: ${id}
  sli: { connector_success: { connector: ${connector} } }
  objective: 0.999
  min_events: 1
  labels: { team: commerce }
${extra}`

const routes = (rules = '') => `
route:
  receiver: hook
  group_by: [rule, severity]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 1h
  routes:
    - matchers: ['severity = page', 'team =~ "commerce|ops"']
      receiver: on-call
receivers:
  hook:
    - webhook: { url_env: HOOK_URL }
  on-call:
    - pagerduty: { routing_key_env: PD_KEY, url: URL_PD }
    - slack: { url_env: SLACK_URL }
${rules ? `rules:\n${rules}` : ''}`

function setup(slos: string, alerts: string) {
  return evaluator(fx.sb.store, configDir(slos, alerts.replace('URL_PD', `${fx.receiver.url}/pd`)), {
    HOOK_URL: `${fx.receiver.url}/hook`,
    PD_KEY: 'pd-routing-key-0123456789abcdef',
    SLACK_URL: `${fx.receiver.url}/slack`,
  })
}

async function outage(connector: string) {
  await seedRuns(fx.sb.store, connector, fx.t0 - DAY, fx.t0, 6_000, 0)
  await seedRuns(fx.sb.store, connector, fx.t0, fx.t0 + 10 * MINUTE, 6_000, 1)
}

async function api<T>(
  path: string,
  init?: RequestInit & { json?: unknown },
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${fx.sb.apiUrl}${path}`, {
    ...init,
    headers: init?.json ? { 'content-type': 'application/json' } : undefined,
    body: init?.json ? JSON.stringify(init.json) : undefined,
  })
  return { status: res.status, body: (await res.json()) as T }
}

describe('routing and channels', () => {
  it('routes a page to PagerDuty and Slack with their documented fields, and resolves the same incident', async () => {
    fx.receiver.clear()
    const { at } = setup(slo('routed', 'routed'), routes())
    await outage('routed')
    const fired = await at(fx.t0 + 5 * MINUTE)
    const page = fired.instances.find((a) => a.rule === 'routed' && a.severity === 'page')
    expect(page?.state).toBe('firing')
    const [trigger] = fx.receiver.json('/pd')
    expect(trigger).toMatchObject({
      routing_key: 'pd-routing-key-0123456789abcdef',
      event_action: 'trigger',
      dedup_key: page?.id,
      payload: {
        summary: expect.stringContaining('routed: burn rate'),
        source: 'signalbox',
        severity: 'critical',
        class: 'connector_success',
      },
      client: 'Signalbox',
      client_url: `http://signalbox.test/#/alerts/${page?.id}`,
    })
    expect(Date.parse(trigger.payload.timestamp)).toBe(fx.t0 + 5 * MINUTE)
    const [slack] = fx.receiver.json('/slack')
    expect(slack.text).toBe('[FIRING:1] rule=routed severity=page')
    expect(slack.blocks.map((b: { type: string }) => b.type)).toEqual(['header', 'section', 'context'])
    expect(slack.blocks[1].text).toMatchObject({
      type: 'mrkdwn',
      text: expect.stringContaining('*routed* (page)'),
    })
    // The ticket tier goes to the default receiver only, and is suppressed while the page fires.
    expect(fired.instances.find((a) => a.rule === 'routed' && a.severity === 'ticket')?.suppressedBy).toBe(
      page?.id,
    )
    expect(fx.receiver.json('/hook')).toEqual([])

    await seedRuns(fx.sb.store, 'routed', fx.t0 + 10 * MINUTE, fx.t0 + HOUR, 6_000, 0)
    await at(fx.t0 + 45 * MINUTE)
    expect(fx.receiver.json('/pd').map((e) => [e.event_action, e.dedup_key])).toEqual([
      ['trigger', page?.id],
      ['resolve', page?.id],
    ])
  })

  it('groups many alerts of one rule into one notification', async () => {
    fx.receiver.clear()
    for (const connector of ['group-a', 'group-b', 'group-c'])
      await recordException(fx.sb.store, {
        connector,
        flow: 'order_to_cash',
        step: 'post_to_erp',
        stage: 'erp_posted',
        entity: { type: 'order', id: `o-${connector}` },
        payload: {},
        error: { class: 'erp.http_503', message: 'unavailable' },
        attempts: 4,
        traceId: '0'.repeat(32),
        spanId: '0'.repeat(16),
      })
    const { at } = setup('{}', routes('  piling_up: { exceptions: { above: 0 }, severity: ticket }'))
    const r = await at(fx.t0)
    expect(r.instances.filter((a) => a.rule === 'piling_up' && a.state === 'firing')).toHaveLength(3)
    const hooks = fx.receiver.json('/hook')
    expect(hooks).toHaveLength(1)
    expect(hooks[0].alerts.map((a: { labels: { connector: string } }) => a.labels.connector).sort()).toEqual([
      'group-a',
      'group-b',
      'group-c',
    ])
  })

  it('a silence keeps the alert firing but tells nobody, and expires', async () => {
    fx.receiver.clear()
    const created = await api<{ silence: { id: string; matchers: string[] } }>('/api/silences', {
      method: 'POST',
      json: {
        matchers: ['slo = silenced'],
        endsAt: new Date(Date.now() + HOUR).toISOString(),
        createdBy: 'ana@ops',
        comment: 'ERP maintenance window',
      },
    })
    expect(created.status).toBe(201)
    expect(created.body.silence.matchers).toEqual(['slo = "silenced"'])
    const { at } = setup(slo('silenced', 'silenced'), routes())
    await outage('silenced')
    // The clock here is the test's; the silence uses wall time, so evaluate at wall time.
    await seedRuns(fx.sb.store, 'silenced', Date.now() - 5 * MINUTE, Date.now(), 6_000, 1)
    const r = await at(Date.now())
    expect(r.instances.find((a) => a.rule === 'silenced' && a.severity === 'page')?.state).toBe('firing')
    expect(fx.receiver.received).toEqual([])
    const expired = await api(`/api/silences/${created.body.silence.id}`, { method: 'DELETE' })
    expect(expired.status).toBe(200)
    await at(Date.now())
    expect(fx.receiver.json('/pd').map((e) => e.event_action)).toEqual(['trigger'])
  })

  it('a connector-down alert suppresses the SLO alerts that depend on that connector', async () => {
    fx.receiver.clear()
    const { at } = setup(
      slo('depends', 'erp-bridge', '  depends_on: [erp-bridge]'),
      routes(
        '  bridge_down: { connector_down: { within: 10m, min_runs: 5 }, severity: page, labels: { team: ops } }',
      ),
    )
    await outage('erp-bridge')
    const r = await at(fx.t0 + 10 * MINUTE)
    const down = r.instances.find((a) => a.rule === 'bridge_down' && a.labels.connector === 'erp-bridge')
    const symptom = r.instances.find((a) => a.rule === 'depends' && a.severity === 'page')
    expect(down?.state).toBe('firing')
    expect(symptom).toMatchObject({ state: 'firing', suppressedBy: down?.id })
    // Other connectors of this file failed in the same minutes; only this pair matters here.
    const paged = fx.receiver.json('/pd').filter((e) => e.payload.custom_details.connector === 'erp-bridge')
    expect(paged.map((e) => e.payload.summary)).toEqual([
      expect.stringMatching(/^bridge_down: 0 of 100 sync runs/),
    ])
  })

  it('acknowledging stops repeats until the alert fires again; only firing alerts can be acknowledged', async () => {
    fx.receiver.clear()
    const { at } = setup(
      slo('acked', 'acked'),
      routes().replace('repeat_interval: 1h', 'repeat_interval: 1m'),
    )
    // Three days of history: three minutes of outage page, but burn too little to open a ticket yet.
    await seedRuns(fx.sb.store, 'acked', fx.t0 - 3 * DAY, fx.t0, 6_000, 0)
    await seedRuns(fx.sb.store, 'acked', fx.t0, fx.t0 + 10 * MINUTE, 6_000, 1)
    const r = await at(fx.t0 + 3 * MINUTE)
    const page = r.instances.find((a) => a.rule === 'acked' && a.severity === 'page')
    const ticket = r.instances.find((a) => a.rule === 'acked' && a.severity === 'ticket')
    const bad = await api<{ error: { code: string } }>(`/api/alerts/${ticket?.id}/ack`, {
      method: 'POST',
      json: { by: 'sam@oncall' },
    })
    expect(bad.status, JSON.stringify(bad.body)).toBe(400)
    const ack = await api<{ alert: { acknowledged: { by: string } } }>(`/api/alerts/${page?.id}/ack`, {
      method: 'POST',
      json: { by: 'sam@oncall', comment: 'looking' },
    })
    expect(ack.status).toBe(200)
    expect(ack.body.alert.acknowledged.by).toBe('sam@oncall')
    await at(fx.t0 + 5 * MINUTE) // past the repeat interval: acknowledged, so no repeat
    expect(fx.receiver.json('/pd').map((e) => e.event_action)).toEqual(['trigger', 'acknowledge'])
    const missing = await api(`/api/alerts/${page?.id}/ack`, { method: 'POST', json: {} })
    expect(missing.status).toBe(400)
    const detail = await api<{ history: Array<{ to: string; actor: string | null }> }>(
      `/api/alerts/${page?.id}`,
    )
    expect(detail.body.history.map((h) => [h.to, h.actor])).toEqual([
      ['acknowledged', 'sam@oncall'],
      ['firing', null],
    ])
  })
})

describe('email', () => {
  it('sends a notification over SMTP to the configured addresses', async () => {
    const { SMTPServer } = await import('smtp-server')
    const mails: Array<{ from: string; to: string[]; text: string }> = []
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, session, done) {
        let text = ''
        stream.on('data', (c: Buffer) => (text += c.toString()))
        stream.on('end', () => {
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            text,
          })
          done()
        })
      },
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.server.address() as { port: number }).port
    try {
      const dir = configDir(
        slo('mailed', 'mailed'),
        `route: { receiver: mail, group_wait: 0s }
receivers:
  mail:
    - email: { smtp_url_env: SMTP_URL, from: signalbox@example.com, to: [oncall@example.com] }
`,
      )
      const { at } = evaluator(fx.sb.store, dir, { SMTP_URL: `smtp://127.0.0.1:${port}` })
      await outage('mailed')
      await at(fx.t0 + 5 * MINUTE)
      expect(mails).toHaveLength(1)
      expect(mails[0]).toMatchObject({ from: 'signalbox@example.com', to: ['oncall@example.com'] })
      expect(mails[0]?.text).toMatch(/Subject: \[FIRING:1\] slo=mailed rule=mailed severity=page/)
      expect(mails[0]?.text).toContain('http://signalbox.test/#/alerts/')
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})

describe('secrets', () => {
  it('never puts a signing key, routing key or webhook URL in logs or the notification log', async () => {
    const lines: string[] = []
    const log = createLogger('trace', { write: (line: string) => lines.push(line) })
    const secrets = {
      HOOK_URL: `${fx.receiver.url}/hook/SECRET-PATH-TOKEN`,
      HOOK_SECRET: `whsec_${Buffer.from('planted-signing-secret-0123456789').toString('base64')}`,
      PD_KEY: 'PLANTED-ROUTING-KEY-42',
      // Nothing listens here: every attempt fails at the network.
      SLACK_URL: 'http://127.0.0.1:9/services/T000/B000/PLANTEDSLACKTOKEN',
      // fetch refuses a URL with credentials in an error that quotes it whole.
      CRED_URL: 'http://alerts:PLANTEDPASSWORD@127.0.0.1:9/hook/PLANTEDCREDPATH',
    }
    const dir = configDir(
      slo('secretive', 'secretive'),
      `route: { receiver: everything, group_wait: 0s }
receivers:
  everything:
    - webhook: { url_env: HOOK_URL, secret_env: HOOK_SECRET }
    - pagerduty: { routing_key_env: PD_KEY, url: ${fx.receiver.url}/pd-down }
    - slack: { url_env: SLACK_URL }
    - webhook: { url_env: CRED_URL }
`,
    )
    fx.receiver.answer(400, 503, 503, 503)
    const { at } = evaluator(fx.sb.store, dir, secrets, 'test', log)
    await outage('secretive')
    await at(fx.t0 + 5 * MINUTE)
    const logged = await fetch(`${fx.sb.apiUrl}/api/notifications?limit=1000`).then((r) => r.text())
    expect(logged).toContain('"channel":"slack"')
    expect(lines.join('\n')).toContain('notification delivery failed')
    for (const text of [lines.join('\n'), logged])
      for (const secret of [
        'SECRET-PATH-TOKEN',
        'planted-signing',
        secrets.HOOK_SECRET,
        'PLANTED-ROUTING-KEY',
        'PLANTEDSLACKTOKEN',
        'PLANTEDPASSWORD',
        'PLANTEDCREDPATH',
      ])
        expect(text).not.toContain(secret)
  })
})

describe('threshold rule kinds', () => {
  it('every kind in the registry runs its read against the real schema', async () => {
    const config = join(import.meta.dirname, '../../config')
    const flows = loadFlows(config)
    // One example per kind: the compiler asks for a new kind's.
    const examples: { [K in RuleKind]: RuleSettings<K> } = {
      stuck: { flow: 'order_to_cash', above: 0 },
      exceptions: { above: 0 },
      drift: { above: 0 },
      price_conflicts: { above: 0 },
      receipt_discrepancies: { within: DAY, above: 0 },
      connector_down: { within: 10 * MINUTE, min_runs: 1 },
      batch_missed: {},
      batch_failed: { within: 2 * 24 * 60 * MINUTE, rejected_above: 0 },
      unreconciled: { above: 0, days: 2 },
      unowned: { within: 60 * MINUTE, above: 0 },
    }
    for (const kind of Object.keys(RULE_KINDS) as RuleKind[]) {
      const rule = { kind, settings: examples[kind] } as RuleOfKind
      // A read the engine refuses (a column renamed, a query gone stale) rejects here.
      await expect(
        ruleValues({ store: fx.sb.store, flows, batches: loadBatches(config) }, rule, new Date(fx.t0)),
        kind,
      ).resolves.toBeInstanceOf(Array)
    }
  })
})
