import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Notification } from '../../alerts/channels.ts'
import { slackMessage } from '../../alerts/payloads.ts'
import { configDir, DAY, evaluator, HOUR, MINUTE, seedRuns, useAlerting } from '../support/alerting.ts'
import { formatProblems, startProviders } from '../support/providers.ts'

const fx = useAlerting()
let providers: Awaited<ReturnType<typeof startProviders>>
beforeAll(async () => {
  providers = await startProviders()
})
afterAll(() => providers?.close())

const SECRET = `whsec_${Buffer.from('alertmanager-test-signing-key').toString('base64')}`
const PD_KEY = 'R0UT1NGKEY0123456789ABCDEFGHIJKL' // 32 characters, as PagerDuty's integration keys

const slos = `
am_orders:
  description: Orders & returns <synced>
  sli: { connector_success: { connector: am-orders } }
  objective: 0.999
  min_events: 1
  labels: { team: commerce }
`
const alerts = (url: string) => `
route:
  receiver: everywhere
  group_by: [slo, severity]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 1h
receivers:
  everywhere:
    - webhook: { url: ${url}/hook, secret_env: HOOK_SECRET }
    - alertmanager: { url_env: AM_URL }
    - pagerduty: { routing_key_env: PD_KEY, url: ${url}/v2/enqueue }
`

async function api(path: string, json: unknown) {
  const res = await fetch(`${fx.sb.apiUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(json),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

describe('Alertmanager- and PagerDuty-faithful notifications', () => {
  it('fires, acknowledges and resolves in each provider’s published format', async () => {
    const { at } = evaluator(fx.sb.store, configDir(slos, alerts(providers.url)), {
      HOOK_SECRET: SECRET,
      AM_URL: `${providers.url}/`,
      PD_KEY,
    })
    await seedRuns(fx.sb.store, 'am-orders', fx.t0 - DAY, fx.t0, 6_000, 0)
    await seedRuns(fx.sb.store, 'am-orders', fx.t0, fx.t0 + 10 * MINUTE, 6_000, 1)
    const fired = await at(fx.t0 + 5 * MINUTE)
    const page = fired.instances.find((a) => a.rule === 'am_orders' && a.severity === 'page')
    expect(page?.state).toBe('firing')
    // Every body fits its provider's schema: the stand-ins answered 2xx to each.
    expect(providers.requests.flatMap((r) => r.problems)).toEqual([])

    const [hook] = providers.requests.filter((r) => r.path === '/hook')
    const body = hook?.body as Record<string, never>
    expect(body).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'everywhere',
      groupLabels: { slo: 'am_orders', severity: 'page' },
      commonLabels: { alertname: 'am_orders', slo: 'am_orders', team: 'commerce', severity: 'page' },
      externalURL: 'http://signalbox.test',
    })
    expect(body.alerts).toEqual([
      expect.objectContaining({
        status: 'firing',
        fingerprint: page?.id,
        generatorURL: `http://signalbox.test/#/alerts/${page?.id}`,
        startsAt: new Date(fx.t0 + 5 * MINUTE).toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
      }),
    ])
    // The Standard Webhooks signature is still there and verifies.
    const headers = hook?.headers as Record<string, string>
    expect(() => new Webhook(SECRET).verify(JSON.stringify(body), headers)).not.toThrow()

    const [pushed] = providers.bodies<Array<Record<string, never>>>('/api/v2/alerts')
    expect(pushed).toEqual([
      expect.objectContaining({
        labels: expect.objectContaining({ alertname: 'am_orders', severity: 'page' }),
        // Held two repeat intervals: a missed repeat does not resolve it in Alertmanager.
        endsAt: new Date(fx.t0 + 5 * MINUTE + 2 * HOUR).toISOString(),
      }),
    ])
    expect(providers.bodies('/v2/enqueue').map((e) => e.event_action)).toEqual(['trigger'])

    // Acknowledged in Signalbox: PagerDuty hears of it at once; Alertmanager, which has no
    // acknowledgements, keeps it firing; people are not told again.
    providers.clear()
    const ack = await api(`/api/alerts/${page?.id}/ack`, { by: 'sam@oncall' })
    expect(ack.status).toBe(200)
    await at(fx.t0 + 6 * MINUTE)
    expect(providers.requests.map((r) => [r.path, r.problems]).sort()).toEqual([
      ['/api/v2/alerts', []],
      ['/v2/enqueue', []],
    ])
    expect(providers.bodies('/v2/enqueue')).toEqual([
      { routing_key: PD_KEY, event_action: 'acknowledge', dedup_key: page?.id },
    ])
    expect(providers.bodies<Array<{ endsAt: string }>>('/api/v2/alerts')[0]?.[0]?.endsAt).toBe(
      new Date(fx.t0 + 6 * MINUTE + 2 * HOUR).toISOString(),
    )
    await at(fx.t0 + 7 * MINUTE) // told once, until the next repeat
    expect(providers.requests).toHaveLength(2)

    // Resolved: every provider hears of it, in its format.
    providers.clear()
    await seedRuns(fx.sb.store, 'am-orders', fx.t0 + 10 * MINUTE, fx.t0 + HOUR, 6_000, 0)
    await at(fx.t0 + 45 * MINUTE) // the ticket, inhibited by the page so far, fires now too
    expect(providers.requests.flatMap((r) => r.problems)).toEqual([])
    const aboutPage = <T extends { dedup_key?: string }>(events: T[]) =>
      events.filter((e) => e.dedup_key === page?.id)
    expect(aboutPage(providers.bodies('/v2/enqueue'))).toEqual([
      { routing_key: PD_KEY, event_action: 'resolve', dedup_key: page?.id },
    ])
    const hooks = providers.bodies<{
      status: string
      alerts: Array<{ fingerprint: string; endsAt: string }>
    }>('/hook')
    const resolvedHook = hooks.find((h) => h.alerts.some((a) => a.fingerprint === page?.id))
    expect(resolvedHook?.status).toBe('resolved')
    expect(resolvedHook?.alerts[0]?.endsAt).toBe(new Date(fx.t0 + 45 * MINUTE).toISOString())
    const pushes = providers.bodies<Array<{ labels: { severity: string }; endsAt: string }>>('/api/v2/alerts')
    const resolvedPush = pushes.flat().find((a) => a.labels.severity === 'page')
    expect(resolvedPush?.endsAt).toBe(new Date(fx.t0 + 45 * MINUTE).toISOString())
  })

  it('the schemas refuse what the providers would refuse', () => {
    expect(
      formatProblems('pagerduty-events-v2', { routing_key: PD_KEY, event_action: 'resolve' }),
    ).not.toEqual([])
    expect(formatProblems('alertmanager-webhook-v4', { version: '1', alerts: [] })).not.toEqual([])
    expect(formatProblems('alertmanager-v2-postable-alerts', [{ annotations: {} }])).not.toEqual([])
  })
})

describe('silences in Alertmanager terms', () => {
  it('takes v2 matcher objects beside strings and answers in the gettableSilence shape', async () => {
    const endsAt = new Date(Date.now() + HOUR).toISOString()
    const created = await api('/api/silences', {
      matchers: [
        { name: 'slo', value: 'am_orders', isRegex: false, isEqual: true },
        { name: 'team', value: 'ops|finance', isRegex: true, isEqual: false },
        'severity = page',
      ],
      endsAt,
      createdBy: 'ana@ops',
      comment: 'maintenance',
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect((created.body.silence as { matchers: string[] }).matchers).toEqual([
      'slo = "am_orders"',
      'team !~ "ops|finance"',
      'severity = "page"',
    ])
    const res = await fetch(`${fx.sb.apiUrl}/api/silences?format=alertmanager`)
    const silences = (await res.json()) as Array<Record<string, unknown>>
    expect(silences.find((s) => s.id === (created.body.silence as { id: string }).id)).toEqual({
      id: expect.any(String),
      status: { state: 'active' },
      updatedAt: expect.any(String),
      matchers: [
        { name: 'slo', value: 'am_orders', isRegex: false, isEqual: true },
        { name: 'team', value: 'ops|finance', isRegex: true, isEqual: false },
        { name: 'severity', value: 'page', isRegex: false, isEqual: true },
      ],
      startsAt: expect.any(String),
      endsAt,
      createdBy: 'ana@ops',
      comment: 'maintenance',
    })
    const bad = await api('/api/silences', {
      matchers: [{ name: 'slo', value: '(', isRegex: true, isEqual: true }],
      endsAt,
      comment: 'x',
    })
    expect(bad.status).toBe(400)
    expect(JSON.stringify(bad.body)).toContain('not a valid regular expression')
  })
})

describe('Slack', () => {
  it('escapes &, < and > in what alerts say, and keeps its own link syntax', () => {
    const n: Notification = {
      id: 'msg_1',
      groupKey: 'g',
      receiver: 'on-call',
      status: 'firing',
      groupLabels: { rule: 'a<b>' },
      alerts: [
        {
          id: 'a1',
          status: 'firing',
          rule: 'orders&returns',
          severity: 'page',
          labels: {},
          summary: '<!channel> 5 > 3 & <http://evil|click>',
          startsAt: new Date(0).toISOString(),
          endsAt: null,
          url: 'http://signalbox.test/#/alerts/a1',
        },
      ],
      sentAt: new Date(0).toISOString(),
      externalUrl: 'http://signalbox.test',
      repeatIntervalMs: HOUR,
    }
    const message = slackMessage(n)
    expect(message.text).toBe('[FIRING:1] rule=a&lt;b&gt;')
    expect(message.blocks[1]?.text).toEqual({
      type: 'mrkdwn',
      text: '🔴 *orders&amp;returns* (page) — &lt;!channel&gt; 5 &gt; 3 &amp; &lt;http://evil|click&gt; <http://signalbox.test/#/alerts/a1|open>',
    })
  })
})
