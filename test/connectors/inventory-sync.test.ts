import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Demo, startDemo } from '../../connectors/demo.ts'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

let sb: TestSignalbox
let demo: Demo
beforeAll(async () => {
  sb = await startSignalbox()
  demo = await startDemo({
    collectorUrl: sb.collectorUrl,
    apiUrl: sb.apiUrl,
    ordersPerMinute: 0,
    retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
  })
  for (const sim of [demo.estate.erp, ...Object.values(demo.estate.channels)])
    sim.faults = { errorRate: 0, throttleRate: 0, outage: false }
})
afterAll(async () => {
  await demo?.close()
  await sb?.close()
})

describe('a stock adjustment at the source of truth', () => {
  it('is recorded and published to every channel, each publication reported with its quantity', async () => {
    demo.estate.erp.adjustStock('SKU-4242', 'DC-NORTH', 120, 20)
    const events = async () => {
      const res = await fetch(`${sb.apiUrl}/api/events?subject=SKU-4242&type=retail.inventory.*`)
      return (
        (await res.json()) as {
          events: Array<{ type: string; data: { channel?: string; quantity?: number; available?: number } }>
        }
      ).events
    }
    await expect.poll(async () => (await events()).length, { timeout: 20_000 }).toBe(4)
    const all = await events()
    expect(all.filter((e) => e.type === 'retail.inventory.adjusted').map((e) => e.data.available)).toEqual([
      100,
    ])
    const published = all.filter((e) => e.type === 'retail.inventory.published')
    expect(published.map((e) => e.data.channel).sort()).toEqual(['marketplace', 'pos', 'storefront'])
    expect(published.every((e) => e.data.quantity === 100)).toBe(true)
    for (const channel of Object.values(demo.estate.channels))
      expect(channel.quantity('SKU-4242', 'DC-NORTH')).toBe(100)

    const indexed = await sb.rows<{ location: string }>(
      sql`SELECT location FROM ${table(TABLES.entityIndex)} WHERE entity_type = 'sku' AND entity_id = 'SKU-4242' AND kind = 'event'`,
    )
    expect(indexed.map((r) => r.location)).toEqual(['DC-NORTH', 'DC-NORTH', 'DC-NORTH', 'DC-NORTH'])
  })

  it('publishes a second change of the same SKU as its own unit of work', async () => {
    demo.estate.erp.adjustStock('SKU-4242', 'DC-NORTH', 90, 0)
    await expect
      .poll(() => demo.estate.channels.marketplace.quantity('SKU-4242', 'DC-NORTH'), { timeout: 20_000 })
      .toBe(90)
    const res = await fetch(`${sb.apiUrl}/api/events?subject=SKU-4242&type=retail.inventory.adjusted`)
    expect(((await res.json()) as { events: unknown[] }).events).toHaveLength(2)
  })
})
