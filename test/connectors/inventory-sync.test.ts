import { describe, expect, it } from 'vitest'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import { useDemo } from '../support/demo.ts'

const fixture = useDemo()

describe('a stock adjustment at the source of truth', () => {
  it('is recorded and published to every channel, each publication reported with its quantity', async () => {
    fixture.demo.estate.erp.adjustStock('SKU-4242', 'DC-NORTH', 120, 20)
    const events = async () => {
      const res = await fetch(`${fixture.sb.apiUrl}/api/events?subject=SKU-4242&type=retail.inventory.*`)
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
    for (const channel of Object.values(fixture.demo.estate.channels))
      expect(channel.quantity('SKU-4242', 'DC-NORTH')).toBe(100)

    const indexed = await fixture.sb.rows<{ location: string }>(
      sql`SELECT location FROM ${table(TABLES.entityIndex)} WHERE entity_type = 'sku' AND entity_id = 'SKU-4242' AND kind = 'event'`,
    )
    expect(indexed.map((r) => r.location)).toEqual(['DC-NORTH', 'DC-NORTH', 'DC-NORTH', 'DC-NORTH'])
  })

  it('publishes a second change of the same SKU as its own unit of work', async () => {
    fixture.demo.estate.erp.adjustStock('SKU-4242', 'DC-NORTH', 90, 0)
    await expect
      .poll(() => fixture.demo.estate.channels.marketplace.quantity('SKU-4242', 'DC-NORTH'), {
        timeout: 20_000,
      })
      .toBe(90)
    const res = await fetch(`${fixture.sb.apiUrl}/api/events?subject=SKU-4242&type=retail.inventory.adjusted`)
    expect(((await res.json()) as { events: unknown[] }).events).toHaveLength(2)
  })
})
