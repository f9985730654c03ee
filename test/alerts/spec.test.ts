import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { period, TIERS, threshold } from '../../alerts/burn-rate.ts'
import { loadAlerting } from '../../alerts/config.ts'
import { routesFor } from '../../alerts/routing.ts'
import { loadSlos } from '../../alerts/spec.ts'
import { INITIAL, step } from '../../alerts/state.ts'
import { loadFlows } from '../../core/flows.ts'
import { configDir, DAY, HOUR, MINUTE } from '../support/alerting.ts'

const shipped = join(import.meta.dirname, '../../config')
const flows = loadFlows(shipped)

describe('slos.yaml and alerts.yaml', () => {
  it('ship SLOs for the default flows and connectors, and routing that loads', () => {
    const slos = loadSlos(shipped, flows)
    expect(slos.map((s) => s.sli.kind).sort()).toEqual([
      'connector_success',
      'connector_success',
      'flow_latency',
      'flow_latency',
      'flow_latency',
      'flow_latency',
      'flow_latency',
      'freshness',
    ])
    // Purchase orders: the supplier's acknowledgement and the three-way match, on the flow's own stages.
    expect(slos.find((s) => s.id === 'supplier_acknowledges')?.sli).toMatchObject({
      kind: 'flow_latency',
      fromStage: 2,
      toStage: 3,
      withinMs: 24 * HOUR,
      flow: { name: 'procure_to_receive' },
    })
    expect(slos.find((s) => s.id === 'order_reaches_erp')).toMatchObject({
      objective: 0.995,
      window: { kind: 'rolling', ms: 30 * DAY },
      sli: {
        kind: 'flow_latency',
        fromStage: 1,
        toStage: 4,
        withinMs: HOUR,
        flow: { name: 'order_to_cash' },
      },
      dependsOn: ['order-to-cash'],
    })
    expect(slos.find((s) => s.id === 'refund_in_time')?.window).toEqual({
      kind: 'calendar_month',
      timeZone: 'UTC',
    })
    const alerting = loadAlerting(shipped, flows)
    expect(alerting.rules.map((r) => r.name)).toContain('connector_down')
    expect(routesFor(alerting.route, { severity: 'page' }).map((r) => r.receiver)).toEqual(['on-call'])
    expect(routesFor(alerting.route, { severity: 'ticket' }).map((r) => r.receiver)).toEqual(['default'])
  })

  it('fail start with the file, the line and the problem', () => {
    const broken = `late_orders:
  description: late
  sli:
    flow_latency: { flow: order_to_cash, from: captured, to: erp_postd, within: 1h }
  objective: 99.5
  window: 45x
typo_flow:
  description: x
  sli: { flow_completion: { flow: order_to_cassh, within: 2d } }
  objective: 0.9
`
    const dir = configDir(broken, '')
    const file = join(dir, 'slos.yaml')
    expect(() => loadSlos(dir, flows)).toThrow(
      `${file}:5: late_orders.objective: a ratio below 1, such as 0.999`,
    )
    expect(() => loadSlos(dir, flows)).toThrow(`${file}:6: late_orders.window:`)
    // With the shape right, the references are checked against flows.yaml.
    const fixed = configDir(broken.replace('objective: 99.5\n  window: 45x', 'objective: 0.995'), '')
    const fixedFile = join(fixed, 'slos.yaml')
    expect(() => loadSlos(fixed, flows)).toThrow(
      `${fixedFile}:4: late_orders.sli.flow_latency.to: no stage 'erp_postd' in order_to_cash`,
    )
    expect(() => loadSlos(fixed, flows)).toThrow(
      `${fixedFile}:8: typo_flow.sli.flow_completion.flow: no flow 'order_to_cassh'`,
    )
  })

  it('reject routing to a receiver that does not exist and matchers that do not parse', () => {
    const dir = mkdtempSync(join(tmpdir(), 'signalbox-alerts-bad-'))
    writeFileSync(
      join(dir, 'alerts.yaml'),
      `route:
  receiver: hook
  routes:
    - matchers: ['team =~ "(unclosed"']
      receiver: pager
receivers:
  hook:
    - slack: { url_env: lower_case }
`,
    )
    const file = join(dir, 'alerts.yaml')
    expect(() => loadAlerting(dir, flows)).toThrow(
      `${file}:4: route.routes.0.matchers.0: '(unclosed' is not a valid regular expression`,
    )
    expect(() => loadAlerting(dir, flows)).toThrow(
      `${file}:8: receivers.hook.0.slack.url_env: an environment variable name`,
    )
  })
})

describe('burn-rate arithmetic', () => {
  it('uses the workbook thresholds for 30 days and rescales them for other windows', () => {
    const all = [...TIERS.page, ...TIERS.ticket]
    expect(all.map((p) => threshold(p, 30 * DAY))).toEqual([14.4, 6, 3, 1])
    expect(all.map((p) => Number(threshold(p, 28 * DAY).toFixed(2)))).toEqual([13.44, 5.6, 2.8, 0.93])
  })

  it('judges a calendar month from local midnight on the first, in the SLO time zone', () => {
    // 15 March 2026, noon UTC: Berlin's March began at 23:00 UTC on 28 February; March has 31 days
    // minus the hour lost to summer time.
    const march = period({ kind: 'calendar_month', timeZone: 'Europe/Berlin' }, Date.UTC(2026, 2, 15, 12))
    expect(new Date(march.startMs).toISOString()).toBe('2026-02-28T23:00:00.000Z')
    expect(march.lengthMs).toBe(31 * DAY - HOUR)
    const feb = period({ kind: 'calendar_month', timeZone: 'UTC' }, Date.UTC(2026, 1, 28, 23, 59))
    expect([new Date(feb.startMs).toISOString(), feb.lengthMs]).toEqual([
      '2026-02-01T00:00:00.000Z',
      28 * DAY,
    ])
  })
})

describe('alert state machine', () => {
  it('waits `for` in pending, fires, resolves; no data and errors keep a firing alert firing', () => {
    const t = (kind: 'true' | 'false' | 'nodata' | 'error') => ({ kind, reason: kind })
    let s = step(INITIAL, t('true'), 0, 5 * MINUTE)
    expect(s.transition).toEqual({ from: 'normal', to: 'pending', reason: 'true' })
    s = step(s.next, t('true'), 4 * MINUTE, 5 * MINUTE)
    expect(s.transition).toBeUndefined()
    s = step(s.next, t('true'), 5 * MINUTE, 5 * MINUTE)
    expect(s.transition?.to).toBe('firing')
    expect(s.next.firedAtMs).toBe(5 * MINUTE)
    expect(step(s.next, t('nodata'), 6 * MINUTE, 0).transition).toBeUndefined()
    expect(step(s.next, t('error'), 6 * MINUTE, 0).transition).toBeUndefined()
    const resolved = step(s.next, t('false'), 7 * MINUTE, 0)
    expect(resolved.transition).toEqual({ from: 'firing', to: 'resolved', reason: 'false' })
    expect(resolved.next.firedAtMs).toBe(5 * MINUTE)
    expect(step(INITIAL, t('true'), 0, 5 * MINUTE).next.state).toBe('pending')
    expect(
      step(step(INITIAL, t('true'), 0, 5 * MINUTE).next, t('false'), MINUTE, 5 * MINUTE).transition?.to,
    ).toBe('normal')
    expect(step(INITIAL, t('nodata'), 0, 0).transition?.to).toBe('nodata')
    expect(step(INITIAL, t('error'), 0, 0).transition?.to).toBe('error')
  })
})
