import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import { listDeliveries } from '../../store/queries/alerts.ts'
import { configDir, DAY, evaluator, HOUR, MINUTE, seedRuns, useAlerting } from '../support/alerting.ts'

// A 99.9% / 30-day success SLO per scenario, each on its own connector so scenarios do not mix.
const slo = (id: string, extra = '') => `
${id}:
  description: ${id} runs succeed
  sli: { connector_success: { connector: ${id} } }
  objective: 0.999
  window: 30d
  min_events: 20
  unit: sync runs
${extra}`

const SECRET = `whsec_${Buffer.from('alert-webhook-test-secret-32bytes!').toString('base64')}`

const fx = useAlerting()

const alertsYaml = (groupWait = '0s') => `
route:
  receiver: hook
  group_by: [rule, severity]
  group_wait: ${groupWait}
  group_interval: 1m
  repeat_interval: 1h
receivers:
  hook:
    - webhook: { url_env: HOOK_URL, secret_env: HOOK_SECRET }
`

function setup(slos: string, alerts = alertsYaml()) {
  return evaluator(fx.sb.store, configDir(slos, alerts), {
    HOOK_URL: `${fx.receiver.url}/hook`,
    HOOK_SECRET: SECRET,
  })
}

const state = (
  r: { instances: ReadonlyArray<{ rule: string; severity: string; state: string }> },
  rule: string,
  severity: string,
) => r.instances.find((a) => a.rule === rule && a.severity === severity)?.state

describe('burn-rate alerts on a 99.9% / 30-day SLO', () => {
  it('pages within the workbook detection time of a full outage (about a minute), and raises no ticket', async () => {
    const { at } = setup(slo('outage'))
    // Three healthy days at 10 runs a minute, then every run fails from fx.t0.
    await seedRuns(fx.sb.store, 'outage', fx.t0 - 3 * DAY, fx.t0, 6_000, 0)
    await seedRuns(fx.sb.store, 'outage', fx.t0, fx.t0 + 10 * MINUTE, 6_000, 1)
    const before = await at(fx.t0)
    expect(state(before, 'outage', 'page')).toBe('normal')
    // The workbook's detection time for a 100% error rate on the 1 h / 14.4 pair is 0.86 min.
    const after = await at(fx.t0 + MINUTE)
    expect(state(after, 'outage', 'page')).toBe('firing')
    expect(state(after, 'outage', 'ticket')).not.toBe('firing')
    const page = after.instances.find((a) => a.rule === 'outage' && a.severity === 'page')
    expect(page?.reason).toMatch(/burn rate 16\.67 over 1h and 200\.00 over 5m ≥ 14\.4/)
    expect(after.transitions.find((t) => t.rule === 'outage' && t.severity === 'page')).toMatchObject({
      from: 'normal',
      to: 'firing',
    })
  })

  it('resolves the page once the short window is clean after the outage ends', async () => {
    const { at } = setup(slo('recovery'))
    await seedRuns(fx.sb.store, 'recovery', fx.t0 - 3 * DAY, fx.t0, 6_000, 0)
    await seedRuns(fx.sb.store, 'recovery', fx.t0, fx.t0 + 15 * MINUTE, 6_000, 1)
    await seedRuns(fx.sb.store, 'recovery', fx.t0 + 15 * MINUTE, fx.t0 + HOUR, 6_000, 0)
    expect(state(await at(fx.t0 + 10 * MINUTE), 'recovery', 'page')).toBe('firing')
    // Six minutes after recovery the 1h/5m pair is clean but the 6h/30m pair still burns; once the
    // 30-minute window holds no failure, the page resolves.
    expect(state(await at(fx.t0 + 21 * MINUTE), 'recovery', 'page')).toBe('firing')
    const resolved = await at(fx.t0 + 46 * MINUTE)
    expect(state(resolved, 'recovery', 'page')).toBe('resolved')
    expect(resolved.transitions.find((t) => t.rule === 'recovery' && t.severity === 'page')?.reason).toMatch(
      /1h\/5m burn [\d.]+\/0\.00 < 14\.4; 6h\/30m burn [\d.]+\/0\.00 < 6\.0/,
    )
  })

  it('raises only a ticket for a steady 0.2% error rate', async () => {
    const { at } = setup(slo('slow_burn'))
    await seedRuns(fx.sb.store, 'slow_burn', fx.t0 - 3 * DAY, fx.t0 + HOUR, 6_000, 500)
    const r = await at(fx.t0 + HOUR)
    expect(state(r, 'slow_burn', 'ticket')).toBe('firing')
    expect(state(r, 'slow_burn', 'page')).toBe('normal')
    expect(r.instances.find((a) => a.rule === 'slow_burn' && a.severity === 'ticket')?.reason).toMatch(
      /over 3d .* ≥ 1\.0/,
    )
  })

  it('shows no data, not 100%, without traffic', async () => {
    const { at } = setup(slo('silent'))
    const r = await at(fx.t0)
    expect(state(r, 'silent', 'page')).toBe('nodata')
    // The shipped SLOs on an empty store, through the api: no data, no ratio, no budget figure.
    const res = await fetch(`${fx.sb.apiUrl}/api/slos`)
    expect(res.status).toBe(200)
    const { slos } = (await res.json()) as {
      slos: Array<{ id: string; status: string; sli: number | null; budget: { remaining: number | null } }>
    }
    expect(slos.map((s) => s.id)).toContain('order_reaches_erp')
    for (const s of slos)
      expect(s).toMatchObject({ status: 'no_data', sli: null, budget: { remaining: null } })
  })

  it('does not page on a handful of failures at low traffic', async () => {
    const { at } = setup(slo('quiet_night'))
    await seedRuns(fx.sb.store, 'quiet_night', fx.t0 - 30 * MINUTE, fx.t0, 10 * MINUTE, 1)
    const r = await at(fx.t0)
    expect(state(r, 'quiet_night', 'page')).toBe('normal')
    expect(r.instances.find((a) => a.rule === 'quiet_night' && a.severity === 'page')?.reason).toMatch(
      /only 3 events in 6h \(paging needs 20\)/,
    )
  })
})

describe('notifications', () => {
  it('signs each webhook delivery (Standard Webhooks) and notifies firing then resolved once each', async () => {
    fx.receiver.clear()
    const { at } = setup(slo('signed'))
    await seedRuns(fx.sb.store, 'signed', fx.t0 - DAY, fx.t0, 6_000, 0)
    await seedRuns(fx.sb.store, 'signed', fx.t0, fx.t0 + 10 * MINUTE, 6_000, 1)
    await seedRuns(fx.sb.store, 'signed', fx.t0 + 10 * MINUTE, fx.t0 + HOUR, 6_000, 0)
    await at(fx.t0 + 5 * MINUTE)
    await at(fx.t0 + 6 * MINUTE) // still firing, nothing changed: no second message
    await at(fx.t0 + 45 * MINUTE)
    const hooks = fx.receiver.received.filter((r) => r.path === '/hook')
    // The page suppressed the ticket while it fired; the budget the outage spent still deserves one.
    expect(hooks.map((h) => [JSON.parse(h.body).groupLabels.severity, JSON.parse(h.body).status])).toEqual([
      ['page', 'firing'],
      ['page', 'resolved'],
      ['ticket', 'firing'],
    ])
    const verifier = new Webhook(SECRET)
    for (const h of hooks) {
      // Alertmanager's webhook body (version 4), signed per Standard Webhooks with the notification id.
      const payload = verifier.verify(h.body, h.headers as Record<string, string>) as {
        version: string
        alerts: Array<{ labels: Record<string, string>; generatorURL: string }>
      }
      expect(h.headers['webhook-id']).toMatch(/^msg_/)
      expect(payload.version).toBe('4')
      expect(payload.alerts[0]).toMatchObject({
        labels: expect.objectContaining({ alertname: 'signed' }),
        generatorURL: expect.stringMatching(/^http:\/\/signalbox\.test\/#\/alerts\//),
      })
    }
    expect(() => verifier.verify(`${hooks[0]?.body} `, hooks[0]?.headers as Record<string, string>)).toThrow()
  })

  it('retries 5xx with backoff, gives up on 4xx, and logs every attempt', async () => {
    fx.receiver.clear()
    const { at } = setup(slo('flaky_receiver'))
    await seedRuns(fx.sb.store, 'flaky_receiver', fx.t0 - DAY, fx.t0, 6_000, 0)
    await seedRuns(fx.sb.store, 'flaky_receiver', fx.t0, fx.t0 + 10 * MINUTE, 6_000, 1)
    fx.receiver.answer(503, 429)
    await at(fx.t0 + 5 * MINUTE)
    const log = await listDeliveries(fx.sb.store, { since: new Date(0), limit: 100 })
    const attempts = log.filter((d) => d.group_key.includes('rule=flaky_receiver'))
    expect(attempts.map((d) => [d.attempt, d.outcome, d.http_status]).reverse()).toEqual([
      [1, 'retrying', 503],
      [2, 'retrying', 429],
      [3, 'delivered', 200],
    ])
    fx.receiver.answer(400)
    await seedRuns(fx.sb.store, 'flaky_receiver', fx.t0 + 10 * MINUTE, fx.t0 + HOUR, 6_000, 0)
    await at(fx.t0 + 45 * MINUTE)
    const resolved = (await listDeliveries(fx.sb.store, { since: new Date(0), limit: 100 })).filter(
      (d) => d.group_key.includes('rule=flaky_receiver') && d.status === 'resolved',
    )
    expect(resolved.map((d) => [d.attempt, d.outcome, d.http_status])).toEqual([[1, 'failed', 400]])
  })

  it('two evaluators at once notify once', async () => {
    fx.receiver.clear()
    const dir = configDir(slo('two_evaluators'), alertsYaml())
    const env = { HOOK_URL: `${fx.receiver.url}/hook`, HOOK_SECRET: SECRET }
    const a = evaluator(fx.sb.store, dir, env, 'evaluator-a')
    const b = evaluator(fx.sb.store, dir, env, 'evaluator-b')
    await seedRuns(fx.sb.store, 'two_evaluators', fx.t0 - DAY, fx.t0, 6_000, 0)
    await seedRuns(fx.sb.store, 'two_evaluators', fx.t0, fx.t0 + 10 * MINUTE, 6_000, 1)
    const [ra, rb] = await Promise.all([a.at(fx.t0 + 4 * MINUTE), b.at(fx.t0 + 4 * MINUTE)])
    expect([ra.leader, rb.leader].filter(Boolean)).toHaveLength(1)
    expect(fx.receiver.json('/hook').filter((n) => n.groupLabels.rule === 'two_evaluators')).toHaveLength(1)
  })

  it('a standby takes over within one lease term when the holder stops, and the holder keeps its lease while it runs', async () => {
    const dir = configDir(slo('lease_takeover'), `evaluation: { interval: 5s }\n${alertsYaml()}`)
    const env = { HOOK_URL: `${fx.receiver.url}/hook`, HOOK_SECRET: SECRET }
    const lease = 60_000 // the helper's term
    const start = (Math.floor(fx.t0 / lease) + 100) * lease // a term no earlier test claimed
    const a = evaluator(fx.sb.store, dir, env, 'holder-a')
    const b = evaluator(fx.sb.store, dir, env, 'standby-b')
    const interval = a.deps.alerting.intervalMs
    // Across a term boundary, ticking every interval, the holder stays the holder.
    const leaders: string[] = []
    for (let t = start; t < start + 2 * lease; t += interval) {
      const [ra, rb] = await Promise.all([a.at(t), b.at(t + 1)])
      leaders.push(ra.leader ? 'a' : rb.leader ? 'b' : '-')
    }
    expect(new Set(leaders)).toEqual(new Set(['a']))
    // The holder stops mid-term: the standby leads from the next term on, not a term later.
    const stoppedAt = start + 2 * lease + lease / 2
    expect((await a.at(stoppedAt)).leader).toBe(true)
    const firstLed = await (async () => {
      for (let t = stoppedAt + interval; t < stoppedAt + 3 * lease; t += interval)
        if ((await b.at(t)).leader) return t
      return Number.POSITIVE_INFINITY
    })()
    expect(firstLed - stoppedAt).toBeLessThanOrEqual(lease / 2 + interval)
  })
})

describe('SLO api', () => {
  it('shows an SLO with its budget in business units, burndown, burn rates per window pair and what burned it', async () => {
    // The shipped order_sync_success SLO (99.9%, 30 days) on wall-clock data: 2 h of runs, 1 in 100 failing.
    const now = Date.now()
    // Runs 3 s off the 6 s grid, so the read a moment later cuts its windows between runs.
    await seedRuns(fx.sb.store, 'order-to-cash', now - 2 * HOUR + 3_000, now - MINUTE + 3_000, 6_000, 100)
    const res = await fetch(`${fx.sb.apiUrl}/api/slos/order_sync_success`)
    expect(res.status).toBe(200)
    const slo = (await res.json()) as {
      status: string
      good: number
      total: number
      sli: number
      unit: string
      budget: { remaining: number; remainingEvents: number; exhaustedInMs: number | null }
      burnRates: Array<{ severity: string; longMs: number; threshold: number; longBurn: number }>
      history: {
        burndown: Array<{ total: number; budgetRemaining: number | null }>
        burnRates: Array<{ severity: string; threshold: number; points: Array<{ long: number | null }> }>
      }
      badEvents: Array<{ subject: string; at: string }>
    }
    expect(slo).toMatchObject({ good: 1178, total: 1190, unit: 'sync runs' })
    // 12 failures against an allowance of 0.1% of 1190 runs: the budget is spent ten times over.
    expect(slo.budget.remaining).toBeCloseTo(1 - 12 / 1.19, 6)
    expect(slo.budget.remainingEvents).toBe(-11)
    expect(slo.burnRates.map((b) => [b.severity, b.longMs / HOUR, b.threshold])).toEqual([
      ['page', 1, 14.4],
      ['page', 6, 6],
      ['ticket', 24, 3],
      ['ticket', 72, 1],
    ])
    // The last hour: runs 600…1189, six of them failed.
    expect(slo.burnRates[0]?.longBurn).toBeCloseTo(6 / 590 / 0.001, 6)
    expect(slo.history.burndown.reduce((n, b) => n + b.total, 0)).toBe(1190)
    expect(slo.history.burnRates).toHaveLength(4)
    // Over whole 5-minute buckets the last hour holds five or six of the failures.
    expect(slo.history.burnRates[0]?.points.at(-1)?.long).toBeGreaterThan(8)
    expect(slo.history.burnRates[0]?.points.at(-1)?.long).toBeLessThan(12)
    expect(slo.badEvents).toHaveLength(12)
    const missing = await fetch(`${fx.sb.apiUrl}/api/slos/nope`)
    expect(missing.status).toBe(404)
  })
})
