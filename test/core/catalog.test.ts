import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadSlos } from '../../alerts/spec.ts'
import { integrationOf, isOwned, loadCatalog } from '../../core/catalog.ts'
import { loadFlows } from '../../core/flows.ts'

const shipped = join(import.meta.dirname, '../../config')

function dir(catalog: string, slos = '{}') {
  const d = mkdtempSync(join(tmpdir(), 'signalbox-catalog-'))
  copyFileSync(join(shipped, 'flows.yaml'), join(d, 'flows.yaml'))
  writeFileSync(join(d, 'catalog.yaml'), catalog)
  writeFileSync(join(d, 'slos.yaml'), slos)
  return d
}

const job = (extra: string) => `
integrations:
  nightly-settlement:
    name: Nightly settlement
    kind: batch_job
    owner: { team: finance, contact: finance@example.com }
    domain: finance
    tier: 3
    latency: batch
    pattern: scheduled-batch
    expected_volume: { count: 1, per: day, unit: runs }
    failure_impact: Yesterday's takings are not in the ledger.
${extra}`

describe('catalog.yaml', () => {
  it('ships an entry for each reference connector, and owners for the systems they call', () => {
    const flows = loadFlows(shipped)
    const catalog = loadCatalog(shipped, flows)
    expect(catalog.integrations.map((i) => [i.id, i.owner.team, i.tier])).toEqual([
      ['order-to-cash', 'commerce', 1],
      ['inventory-sync', 'inventory', 1],
      ['fulfilment', 'fulfilment', 2],
      ['return-to-refund', 'finance', 2],
      ['pricing-sync', 'pricing', 2],
      ['carrier-tracking', 'fulfilment', 2],
    ])
    // A connector is known by its id, its service and its event source without saying so.
    expect(integrationOf(catalog, 'service', 'connector-pricing-sync')?.id).toBe('pricing-sync')
    expect(integrationOf(catalog, 'source', 'urn:signalbox:connector:fulfilment')?.id).toBe('fulfilment')
    expect(isOwned(catalog, 'service', 'erp')).toBe(true)
    for (const system of ['tax', 'carrier', 'loyalty']) expect(isOwned(catalog, 'service', system)).toBe(true)
    expect(integrationOf(catalog, 'source', 'urn:signalbox:webhook:carrier')?.id).toBe('carrier-tracking')
    expect(isOwned(catalog, 'service', 'loyalty-export')).toBe(false)
  })

  it('stops start-up on a batch job without a schedule, a schedule that is not cron, an unknown flow and a name claimed twice', () => {
    const flows = loadFlows(shipped)
    expect(() => loadCatalog(dir(job('')), flows)).toThrow(
      /catalog\.yaml:\d+: integrations\.nightly-settlement\.schedule: a batch integration needs its schedule/,
    )
    expect(() => loadCatalog(dir(job('    schedule: "every night"')), flows)).toThrow(
      /'every night' is not a cron expression/,
    )
    expect(() =>
      loadCatalog(dir(job('    schedule: "0 2 * * *"\n    flows: [order_to_kash]')), flows),
    ).toThrow(/flows\.0: no flow 'order_to_kash' in flows\.yaml/)
    const twice = `${job('    schedule: "0 2 * * *"\n    telemetry: { services: [settler] }')}
  settlement-v2:
    name: Settlement v2
    kind: external
    owner: { team: finance, contact: finance@example.com }
    domain: finance
    tier: 4
    latency: real-time
    pattern: synchronous-api
    expected_volume: { count: 1, per: hour, unit: calls }
    failure_impact: none
    telemetry: { services: [settler] }`
    expect(() => loadCatalog(dir(twice), flows)).toThrow(/'settler' already belongs to nightly-settlement/)
    expect(() =>
      loadCatalog(dir(job('    schedule: "0 2 * * *"').replace('tier: 3', 'tier: 5')), flows),
    ).toThrow(/nightly-settlement\.tier/)
  })

  it('gives an SLO without an objective its integration’s tier’s, and refuses one that has neither', () => {
    const flows = loadFlows(shipped)
    const catalog = `${job('    schedule: "0 2 * * *"')}
tiers:
  3: { meaning: Next business day, slo: { objective: 0.98, min_events: 5 } }`
    const slo = (extra: string) => `
settled:
  description: Settlement runs succeed
  sli: { connector_success: { connector: nightly-settlement } }
  ${extra}`
    // The batch job is no connector: the SLO names its integration.
    const [inherited] = loadSlos(dir(catalog, slo('integration: nightly-settlement')), flows)
    expect(inherited).toMatchObject({ objective: 0.98, minEvents: 5, objectiveFrom: 'tier' })
    expect(inherited?.integration).toMatchObject({ id: 'nightly-settlement', tier: 3 })
    const [own] = loadSlos(dir(catalog, slo('integration: nightly-settlement\n  objective: 0.9')), flows)
    expect(own).toMatchObject({ objective: 0.9, objectiveFrom: 'slo' })
    expect(() => loadSlos(dir(catalog, slo('')), flows)).toThrow(/settled\.objective: required/)
    expect(() => loadSlos(dir(catalog, slo('integration: nowhere')), flows)).toThrow(
      /settled\.integration: no integration 'nowhere' in catalog\.yaml/,
    )
  })
})
