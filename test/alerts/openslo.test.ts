import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { exportOpenSlo } from '../../alerts/openslo/export.ts'
import { importOpenSlo, slosYaml } from '../../alerts/openslo/import.ts'
import { loadSlos, readSloDocument } from '../../alerts/spec.ts'
import { ConfigError } from '../../core/errors.ts'
import { loadFlows } from '../../core/flows.ts'

const CONFIG = join(import.meta.dirname, '../../config')
const flows = loadFlows(CONFIG)

/** The problems a failed import names. */
function importProblems(text: string): string[] {
  try {
    importOpenSlo(text, flows)
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems]
    throw err
  }
  return []
}

describe('OpenSLO round trip', () => {
  it('exports the shipped SLOs and imports them back unchanged, as written and as loaded', () => {
    const shipped = readSloDocument(CONFIG)
    const text = exportOpenSlo(shipped)
    const imported = importOpenSlo(text, flows, 'export.yaml')
    expect(imported.warnings).toEqual([])
    expect(imported.slos).toEqual(shipped)
    const dir = mkdtempSync(join(tmpdir(), 'signalbox-openslo-'))
    writeFileSync(join(dir, 'slos.yaml'), slosYaml(imported, 'export.yaml'))
    // Loaded beside the same catalog: an SLO's integration, owner and tier come from catalog.yaml.
    copyFileSync(join(CONFIG, 'catalog.yaml'), join(dir, 'catalog.yaml'))
    expect(loadSlos(dir, flows)).toEqual(loadSlos(CONFIG, flows))
  })

  it('writes OpenSLO v1 SLO, SLI and AlertPolicy documents with a signalbox metric source', () => {
    const docs = parseAllDocuments(exportOpenSlo(readSloDocument(CONFIG))).map((d) => d.toJS())
    expect(new Set(docs.map((d) => `${d.apiVersion} ${d.kind}`))).toEqual(
      new Set(['openslo/v1 SLO', 'openslo/v1 SLI', 'openslo/v1 AlertPolicy']),
    )
    const slo = docs.find((d) => d.kind === 'SLO' && d.metadata.name === 'order-reaches-erp')
    expect(slo.spec).toMatchObject({
      service: 'order_to_cash',
      indicatorRef: 'order-reaches-erp',
      budgetingMethod: 'Occurrences',
      timeWindow: [{ duration: '30d', isRolling: true }],
      objectives: [{ target: 0.995 }],
    })
    expect(slo.metadata.annotations).toEqual({
      'signalbox.io/depends-on': 'order-to-cash',
      'signalbox.io/unit': 'orders',
    })
    const sli = docs.find((d) => d.kind === 'SLI' && d.metadata.name === 'order-reaches-erp')
    expect(sli.spec.ratioMetric.good.metricSource).toEqual({
      type: 'signalbox',
      spec: {
        flow_latency: { flow: 'order_to_cash', from: 'captured', to: 'erp_posted', within: '1h' },
        events: 'good',
      },
    })
    const page = docs.find((d) => d.kind === 'AlertPolicy' && d.metadata.name === 'signalbox-page-1h-30d')
    expect(page.spec.conditions[0].spec.condition).toEqual({
      kind: 'burnrate',
      op: 'gte',
      threshold: 14.4,
      lookbackWindow: '1h',
      alertAfter: '0m',
    })
    // Every policy an SLO names is in the output.
    const policies = new Set(docs.filter((d) => d.kind === 'AlertPolicy').map((d) => d.metadata.name))
    for (const s of docs.filter((d) => d.kind === 'SLO'))
      for (const ref of s.spec.alertPolicies) expect(policies.has(ref.alertPolicyRef)).toBe(true)
  })
})

const foreign = (sloSpec: string, sliSpec: string, extra = '') => `
apiVersion: openslo/v1
kind: Service
metadata: { name: checkout }
spec: { description: Checkout }
---
apiVersion: openslo/v1
kind: SLI
metadata: { name: checkout-success }
spec:
${sliSpec}
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-success
  displayName: Checkout success
  labels: { team: commerce }
  annotations: { grafana.com/dashboard: abc }
spec:
  description: Checkout calls succeed
  service: checkout
  indicatorRef: checkout-success
${sloSpec}
${extra}`

const signalboxSli = `
  ratioMetric:
    counter: true
    good: { metricSource: { type: signalbox, spec: { connector_success: { connector: checkout }, events: good } } }
    total: { metricSource: { type: signalbox, spec: { connector_success: { connector: checkout }, events: total } } }`

describe('OpenSLO import from other tools', () => {
  it('takes what Signalbox can keep and names what it cannot', () => {
    const { slos, warnings } = importOpenSlo(
      foreign(
        `
  timeWindow: [{ duration: 4w, isRolling: true }]
  budgetingMethod: Occurrences
  objectives: [{ displayName: ok, targetPercent: 99.5 }]
  alertPolicies: [{ alertPolicyRef: fast-burn }]`,
        signalboxSli,
        `---
apiVersion: openslo/v1
kind: AlertPolicy
metadata: { name: fast-burn }
spec:
  conditions:
    - kind: AlertCondition
      metadata: { name: fast }
      spec: { severity: page, condition: { kind: burnrate, op: gte, threshold: 2, lookbackWindow: 1h } }
  notificationTargets: []`,
      ),
      flows,
    )
    expect(slos).toEqual({
      checkout_success: {
        description: 'Checkout calls succeed',
        sli: { connector_success: { connector: 'checkout' } },
        objective: 0.995,
        window: '28d',
        labels: { team: 'commerce' },
      },
    })
    expect(warnings).toEqual([
      "Service 'checkout' is not imported: Signalbox names the service from the SLI (its flow, connector or system)",
      'SLO checkout-success: metadata.displayName is not kept',
      'SLO checkout-success: metadata.annotations.grafana.com/dashboard is not kept',
      'SLO checkout-success: spec.objectives.0.displayName is not kept',
      "SLO checkout-success: alert policy 'fast-burn' (page: burnrate gte 2 over 1h) is not imported: Signalbox alerts on its own burn-rate tiers (docs/slos-and-alerts.md)",
    ])
  })

  it('refuses what Signalbox cannot do, naming each field', () => {
    const problems = importProblems(
      foreign(
        `
  timeWindow: [{ duration: 1Q, calendar: { startTime: '2024-01-01 00:00:00', timeZone: UTC } }]
  budgetingMethod: Timeslices
  objectives: [{ target: 0.99, timeSliceTarget: 0.95, timeSliceWindow: 1m }]`,
        `
  ratioMetric:
    counter: true
    good: { metricSource: { type: Prometheus, spec: { query: 'sum(rate(http_requests_total{code!~"5.."}[5m]))' } } }
    total: { metricSource: { type: Prometheus, spec: { query: 'sum(rate(http_requests_total[5m]))' } } }`,
      ),
    )
    expect(problems).toEqual([
      expect.stringContaining(
        "SLO checkout-success: SLI checkout-success.spec.ratioMetric.good.metricSource.type: 'Prometheus' is not supported",
      ),
      expect.stringContaining(
        "SLO checkout-success: SLI checkout-success.spec.ratioMetric.total.metricSource.type: 'Prometheus' is not supported",
      ),
      "SLO checkout-success: spec.timeWindow.0.duration: calendar windows are one month (1M) in Signalbox, not '1Q'",
      "SLO checkout-success: spec.budgetingMethod: 'Timeslices' is not supported; Signalbox counts good and total events (Occurrences)",
      'SLO checkout-success: spec.objectives.0.timeSliceTarget: not supported',
      'SLO checkout-success: spec.objectives.0.timeSliceWindow: not supported',
    ])
  })

  it('checks the result as slos.yaml is checked at start, flows and stages included', () => {
    const sli = signalboxSli.replaceAll(
      '{ connector_success: { connector: checkout }',
      '{ flow_latency: { flow: order_to_cash, from: captured, to: shipped_by_drone, within: 1h }',
    )
    expect(
      importProblems(
        foreign(
          `
  timeWindow: [{ duration: 30d, isRolling: true }]
  budgetingMethod: Occurrences
  objectives: [{ target: 0.99 }]`,
          sli,
        ),
      ),
    ).toEqual([
      "as slos.yaml: checkout_success.sli.flow_latency.to: no stage 'shipped_by_drone' in order_to_cash",
    ])
  })

  it('refuses a file that is not OpenSLO v1', () => {
    expect(importProblems('apiVersion: openslo/v1alpha\nkind: SLO\nmetadata: { name: x }\n')).toEqual([
      "input: document 1: apiVersion 'openslo/v1alpha' is not supported; use openslo/v1",
    ])
    expect(importProblems('a: [1, 2\n')[0]).toMatch(/^input:\d+: /)
  })
})
