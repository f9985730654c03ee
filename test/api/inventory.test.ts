import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ok, typedApi } from '../support/api-client.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

let sb: TestSignalbox
beforeAll(async () => {
  sb = await startSignalbox()
})
afterAll(async () => {
  await sb?.close()
})

const t0 = Date.now() - 3_600_000
let n = 0
const ev = (type: string, offsetMs: number, data: Record<string, unknown>) => ({
  specversion: '1.0',
  id: `inv-${n++}`,
  source: 'urn:test:inventory',
  type,
  subject: 'SKU-777',
  time: new Date(t0 + offsetMs).toISOString(),
  locationid: 'DC-1',
  data,
})

describe('GET /api/inventory/:sku', () => {
  it('shows lag and drift per channel for the latest change, with oversell risk where a channel was told too much', async () => {
    const events = [
      ev('retail.inventory.adjusted', 0, {
        sku: 'SKU-777',
        location: 'DC-1',
        on_hand: 130,
        available: 120,
        change: 1,
      }),
      ev('retail.inventory.published', 1_000, { channel: 'pos', quantity: 120, change: 1 }),
      ev('retail.inventory.adjusted', 60_000, {
        sku: 'SKU-777',
        location: 'DC-1',
        on_hand: 110,
        available: 100,
        change: 2,
      }),
      ev('retail.inventory.published', 62_000, { channel: 'storefront', quantity: 100, change: 2 }),
      // The marketplace hears of the change five minutes late; the POS never does.
      ev('retail.inventory.published', 360_000, { channel: 'marketplace', quantity: 100, change: 2 }),
    ]
    const res = await fetch(`${sb.collectorUrl}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(events),
    })
    expect(res.status).toBe(200)

    const body = await ok(
      typedApi(sb.apiUrl).inventory[':sku'].$get({ param: { sku: 'SKU-777' }, query: { location: 'DC-1' } }),
    )
    const [dc] = body.locations
    expect(dc?.sourceOfTruth?.available).toBe(100)
    expect(dc?.changes).toHaveLength(2)
    const byChannel = Object.fromEntries((dc?.channels ?? []).map((c) => [c.channel, c]))
    expect(byChannel.storefront).toMatchObject({
      quantity: 100,
      upToDate: true,
      lagMs: 2_000,
      drift: 0,
      oversellRisk: false,
    })
    expect(byChannel.marketplace).toMatchObject({ quantity: 100, upToDate: true, lagMs: 300_000, drift: 0 })
    expect(byChannel.pos).toMatchObject({ quantity: 120, upToDate: false, drift: 20, oversellRisk: true })
    // Not told yet: the lag keeps growing from the change (about an hour by now).
    expect(byChannel.pos?.lagMs).toBeGreaterThan(3_000_000)
  })

  it('answers 404 for a SKU with no stock events', async () => {
    expect((await fetch(`${sb.apiUrl}/api/inventory/SKU-NONE`)).status).toBe(404)
  })
})
