import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { SloMetrics } from '../../alerts/slo-metrics.ts'
import { loadSlos } from '../../alerts/spec.ts'
import { loadFlows } from '../../core/flows.ts'
import { createLogger } from '../../core/logger.ts'
import { configDir, HOUR, MINUTE, seedRuns, useAlerting } from '../support/alerting.ts'

const fx = useAlerting()
const log = createLogger('silent')

/** Prometheus text format → `name{labels}` → value, for the lines of the named metrics. */
function samples(text: string, prefix: string): Map<string, number> {
  const found = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue
    const at = line.lastIndexOf(' ')
    found.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return found
}

const slos = `
metered:
  description: Metered sync runs succeed
  sli: { connector_success: { connector: metered } }
  objective: 0.99
  window: 7d
  labels: { team: commerce }
`
const alerts = 'route: { receiver: r }\nreceivers: { r: [{ webhook: { url: "http://127.0.0.1:9/hook" } }] }\n'
const LABELS = 'connector="metered",team="commerce",slo="metered",sli="connector_success"'

describe('SLIs as Prometheus metrics', () => {
  it('counts good and total events as counters, and the period and remaining budget as gauges', async () => {
    const dir = configDir(slos, alerts)
    const flows = loadFlows(dir)
    const clock = { now: fx.t0 }
    const registry = new Registry()
    new SloMetrics(fx.sb.store, loadSlos(dir, flows), registry, log, () => clock.now)
    // Runs before the process started are in the period, not in the counters.
    await seedRuns(fx.sb.store, 'metered', fx.t0 - HOUR, fx.t0, 60_000, 0)
    await seedRuns(fx.sb.store, 'metered', fx.t0, fx.t0 + 10 * MINUTE, 6_000, 4) // 100 runs, 25 fail
    clock.now = fx.t0 + 10 * MINUTE
    let m = samples(await registry.metrics(), 'signalbox_slo_')
    expect(m.get(`signalbox_slo_good_events_total{${LABELS}}`)).toBe(75)
    expect(m.get(`signalbox_slo_events_total{${LABELS}}`)).toBe(100)
    expect(m.get(`signalbox_slo_period_events{${LABELS}}`)).toBe(160)
    expect(m.get(`signalbox_slo_period_good_events{${LABELS}}`)).toBe(135)
    expect(m.get(`signalbox_slo_objective_ratio{${LABELS}}`)).toBe(0.99)
    // 25 bad of 160 against a budget of 1.6 bad events: overspent.
    expect(m.get(`signalbox_slo_error_budget_remaining_ratio{${LABELS}}`)).toBeCloseTo(1 - 25 / 1.6, 6)

    // Past the settling hour: the first runs are settled into the counters, later ones added.
    await seedRuns(fx.sb.store, 'metered', fx.t0 + 10 * MINUTE, fx.t0 + 2 * HOUR, 60_000, 0) // 110 good
    clock.now = fx.t0 + 2 * HOUR
    m = samples(await registry.metrics(), 'signalbox_slo_')
    expect(m.get(`signalbox_slo_good_events_total{${LABELS}}`)).toBe(185)
    expect(m.get(`signalbox_slo_events_total{${LABELS}}`)).toBe(210)
    clock.now = fx.t0 + 2 * HOUR + MINUTE // nothing new: the counters stay
    m = samples(await registry.metrics(), 'signalbox_slo_')
    expect(m.get(`signalbox_slo_events_total{${LABELS}}`)).toBe(210)
  })

  it("serves them on the api's /metrics with the process's own, and the SLOs as OpenSLO", async () => {
    const text = await (await fetch(`${fx.sb.apiUrl}/metrics`)).text()
    expect(text).toContain('# TYPE signalbox_slo_good_events_total counter')
    expect(text).toContain('slo="order_reaches_erp"')
    expect(text).toContain('# TYPE signalbox_process_cpu_seconds_total counter')
    const openslo = await fetch(`${fx.sb.apiUrl}/api/slos?format=openslo`)
    expect(openslo.headers.get('content-type')).toContain('application/yaml')
    expect(await openslo.text()).toContain('kind: SLO\nmetadata:\n  name: order-reaches-erp')
    expect((await fetch(`${fx.sb.apiUrl}/api/slos?format=xml`)).status).toBe(400)
  })
})
