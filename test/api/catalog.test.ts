import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedGovernance } from '../support/catalog.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

// The shipped configuration: config/catalog.yaml names the reference connectors and the systems.
let sb: TestSignalbox
const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 40 * 60_000

beforeAll(async () => {
  sb = await startSignalbox()
  await seedGovernance(sb.collectorUrl, t0)
})
afterAll(async () => {
  await sb?.close()
})

async function get<T>(path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${sb.apiUrl}${path}`)
  return { status: res.status, body: (await res.json()) as T }
}

interface Entry {
  id: string
  owner: { team: string; contact: string }
  tier: number
  tierMeaning: string
  domain: string
  latency: { class: string }
  pattern: string
  failureImpact: string
  expectedVolume: { perHour: number }
  slos: Array<{ id: string; objective: number }>
  volume: { lastHour: number; expectedPerHour: number }
  lastRun: string | null
  lastChange: { version: string; previous: string | null; source: string } | null
}

describe('GET /api/catalog', () => {
  it('lists every integration with owner, tier and what it means, its SLOs, volume and last change', async () => {
    const { status, body } = await get<{
      tiers: Array<{ tier: number; meaning: string }>
      integrations: Entry[]
      unowned: Array<{ seenAs: string; name: string }>
    }>('/api/catalog')
    expect(status).toBe(200)
    expect(body.tiers.map((t) => t.tier)).toEqual([1, 2, 3, 4])
    expect(body.integrations.map((i) => i.id)).toEqual([
      'order-to-cash',
      'inventory-sync',
      'fulfilment',
      'return-to-refund',
      'pricing-sync',
      'carrier-tracking',
    ])
    const otc = body.integrations.find((i) => i.id === 'order-to-cash') as Entry
    expect(otc).toMatchObject({
      owner: { team: 'commerce' },
      tier: 1,
      domain: 'order',
      latency: { class: 'real-time' },
      pattern: 'orchestration',
      expectedVolume: { perHour: 9000 },
      lastChange: { version: '1.1.0', previous: '1.0.0', source: 'telemetry' },
    })
    expect(otc.tierMeaning).toMatch(/page at any hour/)
    expect(otc.failureImpact).toMatch(/revenue/)
    expect(otc.slos.map((s) => s.id)).toEqual([
      'order_reaches_erp',
      'order_ships_in_time',
      'order_sync_success',
    ])
    expect(otc.volume.lastHour).toBe(2)
    expect(otc.lastRun).not.toBeNull()
    expect(body.integrations.find((i) => i.id === 'return-to-refund')?.lastChange).toMatchObject({
      version: '1.8.0',
      previous: null,
      source: 'deploy',
    })
  })

  it('lists what telemetry shows but the catalog does not name as unowned, and not the known systems', async () => {
    const { body } = await get<{ unowned: Array<{ seenAs: string; name: string }> }>('/api/catalog')
    expect(body.unowned).toContainEqual(
      expect.objectContaining({ seenAs: 'service', name: 'loyalty-export' }),
    )
    const names = body.unowned.map((u) => u.name)
    expect(names).not.toContain('erp')
    expect(names).not.toContain('connector-order-to-cash')
    expect(names).not.toContain('urn:ci:deploy-pipeline')
  })

  it('answers one integration with its changes, newest first, and 404 for one not catalogued', async () => {
    const { status, body } = await get<{ integration: Entry; changes: Array<{ version: string }> }>(
      '/api/catalog/order-to-cash',
    )
    expect(status).toBe(200)
    expect(body.integration.owner.contact).toBe('commerce-oncall@example.com')
    expect(body.changes.map((c) => c.version)).toEqual(['1.1.0'])
    const missing = await get<{ error: { code: string; message: string } }>('/api/catalog/loyalty-export')
    expect(missing.status).toBe(404)
    expect(missing.body.error.message).toMatch(/no integration 'loyalty-export'/)
  })
})

describe('GET /api/changes', () => {
  it('lists changes in the range, oldest first, by integration when asked', async () => {
    const { status, body } = await get<{
      changes: Array<{ integration: string; version: string; at: string }>
    }>('/api/changes')
    expect(status).toBe(200)
    expect(body.changes.map((c) => [c.integration, c.version])).toEqual([
      ['order-to-cash', '1.1.0'],
      ['return-to-refund', '1.8.0'],
    ])
    expect(Date.parse(body.changes[1]?.at ?? '')).toBe(t0 + 20 * 60_000)
    const one = await get<{ changes: Array<{ integration: string }> }>(
      '/api/changes?integration=return-to-refund',
    )
    expect(one.body.changes.map((c) => c.integration)).toEqual(['return-to-refund'])
    const before = await get<{ changes: unknown[] }>(
      `/api/changes?to=${encodeURIComponent(new Date(t0 + 5 * 60_000).toISOString())}`,
    )
    expect(before.body.changes).toEqual([])
    // By flow (the catalog's entries carrying it) and by SLO (the integrations it depends on).
    const byFlow = await get<{ changes: Array<{ integration: string }> }>(
      '/api/changes?flow=return_to_refund',
    )
    expect(byFlow.body.changes.map((c) => c.integration)).toEqual(['return-to-refund'])
    const bySlo = await get<{ changes: Array<{ integration: string }> }>(
      '/api/changes?slo=order_sync_success',
    )
    expect(bySlo.body.changes.map((c) => c.integration)).toEqual(['order-to-cash'])
  })

  it('refuses a bad range with a 400 that names it', async () => {
    const bad = await get<{ error: { message: string } }>('/api/changes?from=yesterday')
    expect(bad.status).toBe(400)
    expect(bad.body.error.message).toMatch(/^from:/)
    const slo = await get<{ error: { message: string } }>('/api/changes?slo=nope')
    expect(slo.status).toBe(400)
    expect(slo.body.error.message).toBe("slo: no SLO 'nope'")
  })
})
