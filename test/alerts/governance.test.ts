import { SpanKind } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { CloudEvent, emitterFor, httpTransport, Mode } from 'cloudevents'
import { describe, expect, it } from 'vitest'
import { recordException } from '../../store/queries/exceptions.ts'
import { configDir, evaluator, HOUR, MINUTE, seedRuns, useAlerting } from '../support/alerting.ts'

const fx = useAlerting()

const entry = (id: string, team: string, tier: number) => `
  ${id}:
    name: ${id}
    kind: connector
    owner: { team: ${team}, contact: ${team}@example.com }
    domain: pricing
    tier: ${tier}
    latency: near-real-time
    pattern: event-driven
    expected_volume: { count: 10, per: minute, unit: sync runs }
    failure_impact: Channels show stale prices.`

const catalog = `
change_window: 30m
integrations:${entry('gov-pricing', 'pricing', 1)}${entry('gov-reports', 'finance', 3)}
`

// pricing_runs sets no objective: its integration's tier (1) gives 0.999.
const slos = `
pricing_runs:
  description: Pricing sync runs succeed
  sli: { connector_success: { connector: gov-pricing } }
  min_events: 1
reports_runs:
  description: Report runs succeed
  sli: { connector_success: { connector: gov-reports } }
  objective: 0.99
  min_events: 1
`

// Routes on the labels the catalog adds: tier 1 pages someone, the finance team gets its own.
const alerts = `
route:
  receiver: tickets
  group_by: [rule, severity]
  group_wait: 0s
  routes:
    - matchers: ['tier = 1']
      receiver: pager
    - matchers: ['team = finance']
      receiver: finance
receivers:
  tickets: [{ webhook: { url_env: TICKETS_URL } }]
  pager: [{ webhook: { url_env: PAGER_URL } }]
  finance: [{ webhook: { url_env: FINANCE_URL } }]
rules:
  piling_up: { exceptions: { above: 0 }, severity: ticket }
  shadow_it: { unowned: { within: 1h, seen_as: [service] }, severity: ticket }
`

function setup() {
  return evaluator(fx.sb.store, configDir(slos, alerts, catalog), {
    TICKETS_URL: `${fx.receiver.url}/tickets`,
    PAGER_URL: `${fx.receiver.url}/pager`,
    FINANCE_URL: `${fx.receiver.url}/finance`,
  })
}

const deployed = (integration: string, version: string, atMs: number) =>
  emitterFor(httpTransport(`${fx.sb.collectorUrl}/v1/events`), { mode: Mode.STRUCTURED })(
    new CloudEvent({
      specversion: '1.0',
      id: `deploy-${integration}-${version}`,
      source: 'urn:ci:deploy-pipeline',
      type: 'retail.integration.deployed',
      subject: integration,
      time: new Date(atMs).toISOString(),
      datacontenttype: 'application/json',
      data: { integration, version },
    }),
  )

const labelsAt = (path: string) =>
  fx.receiver
    .json(path)
    .flatMap((n: { alerts: Array<{ labels: Record<string, string> }> }) => n.alerts.map((a) => a.labels))

describe('the catalog in alerting', () => {
  it('labels alerts with the owner team and tier, routes on them, and gives SLOs their tier’s objective', async () => {
    fx.receiver.clear()
    const { deps, at } = setup()
    expect(deps.slos.map((s) => [s.id, s.objective, s.objectiveFrom])).toEqual([
      ['pricing_runs', 0.999, 'tier'],
      ['reports_runs', 0.99, 'slo'],
    ])
    for (const connector of ['gov-pricing', 'gov-reports']) {
      await seedRuns(fx.sb.store, connector, fx.t0 - HOUR, fx.t0, 6_000, 0)
      await seedRuns(fx.sb.store, connector, fx.t0, fx.t0 + 10 * MINUTE, 6_000, 1)
    }
    const r = await at(fx.t0 + 5 * MINUTE)
    const page = r.instances.find((a) => a.rule === 'pricing_runs' && a.severity === 'page')
    expect(page).toMatchObject({
      state: 'firing',
      labels: { integration: 'gov-pricing', team: 'pricing', tier: '1', slo: 'pricing_runs' },
    })
    expect(r.instances.find((a) => a.rule === 'reports_runs' && a.severity === 'page')?.labels).toMatchObject(
      {
        team: 'finance',
        tier: '3',
      },
    )
    expect(labelsAt('/pager').map((l) => l.slo)).toContain('pricing_runs')
    expect(labelsAt('/pager').map((l) => l.slo)).not.toContain('reports_runs')
    expect(labelsAt('/finance').map((l) => l.slo)).toContain('reports_runs')
  })

  it('labels threshold rules by the connector they name', async () => {
    await recordException(fx.sb.store, {
      connector: 'gov-pricing',
      flow: 'price_sync',
      step: 'publish',
      stage: 'published',
      entity: { type: 'sku', id: 'SKU-GOV-1' },
      payload: {},
      error: { class: 'channel.http_503', message: 'unavailable' },
      attempts: 4,
      traceId: '0'.repeat(32),
      spanId: '0'.repeat(16),
    })
    const r = await setup().at(fx.t0 + 5 * MINUTE)
    expect(
      r.instances.find((a) => a.rule === 'piling_up' && a.labels.connector === 'gov-pricing')?.labels,
    ).toMatchObject({
      integration: 'gov-pricing',
      team: 'pricing',
      tier: '1',
    })
  })

  it('names a change made shortly before an alert fired in its reason, and not an older one', async () => {
    const t = fx.t0 + 2 * HOUR // a fresh stretch of time for this test's own alerts
    await seedRuns(fx.sb.store, 'gov-reports', t - HOUR, t, 6_000, 0)
    await deployed('gov-reports', '2.0.0', t - 90 * MINUTE)
    await deployed('gov-reports', '2.1.0', t + 2 * MINUTE)
    await seedRuns(fx.sb.store, 'gov-reports', t + 3 * MINUTE, t + 10 * MINUTE, 6_000, 1)
    const { at } = setup()
    await at(t)
    const r = await at(t + 8 * MINUTE)
    const page = r.instances.find((a) => a.rule === 'reports_runs' && a.severity === 'page')
    expect(page?.state).toBe('firing')
    const clock = new Date(t + 2 * MINUTE).toISOString().slice(11, 16)
    expect(page?.reason).toContain(`; gov-reports deployed 2.1.0 at ${clock} UTC`)
    expect(page?.reason).not.toContain('2.0.0')
    // The notification carries it too.
    const told = fx.receiver
      .json('/finance')
      .flatMap((n: { alerts: Array<{ reason?: string; annotations?: Record<string, string> }> }) => n.alerts)
    expect(JSON.stringify(told)).toContain('gov-reports deployed 2.1.0')
  })

  it('an unowned rule counts services telemetry shows that the catalog does not name', async () => {
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'shadow-export', 'service.version': '0.3.0' }),
      spanProcessors: [
        new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${fx.sb.collectorUrl}/v1/traces` })),
      ],
    })
    provider.getTracer('test').startSpan('export loyalty points', { kind: SpanKind.CLIENT }).end()
    await provider.forceFlush()
    await provider.shutdown()
    const r = await setup().at(Date.now())
    const unowned = r.instances.find((a) => a.rule === 'shadow_it')
    expect(unowned?.state).toBe('firing')
    expect(unowned?.value).toBe(1)
    expect(unowned?.reason).toContain('service shadow-export')
  })
})
