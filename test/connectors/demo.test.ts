import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Demo, startDemo } from '../../connectors/demo.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

let sb: TestSignalbox
let demo: Demo
beforeAll(async () => {
  sb = await startSignalbox()
  demo = await startDemo({
    collectorUrl: sb.collectorUrl,
    apiUrl: sb.apiUrl,
    ordersPerMinute: 600,
    retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
  })
})
afterAll(async () => {
  await demo?.close()
  await sb?.close()
})

describe('the demo estate on its own timers', () => {
  it('places orders, moves stock and advances the warehouse: orders reach fulfilment without anyone driving them', async () => {
    const types = async () => {
      const res = await fetch(`${sb.apiUrl}/api/events?type=retail.*&limit=1000`)
      return new Set(((await res.json()) as { events: Array<{ type: string }> }).events.map((e) => e.type))
    }
    await expect
      .poll(
        async () => {
          const seen = await types()
          return (
            ['retail.order.created', 'retail.order.erp_posted', 'retail.inventory.published'].every((t) =>
              seen.has(t),
            ) &&
            (seen.has('retail.order.shipped') || seen.has('retail.order.ready_for_pickup'))
          )
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBe(true)
  })

  it('calls the tax engine, the carrier and the loyalty system, and the carrier’s tracking comes back as events', async () => {
    const nodes = async () =>
      (
        (await (await fetch(`${sb.apiUrl}/api/systems/map`)).json()) as { nodes: Array<{ id: string }> }
      ).nodes.map((n) => n.id)
    await expect
      .poll(nodes, { timeout: 60_000, interval: 1_000 })
      .toEqual(expect.arrayContaining(['tax', 'carrier', 'loyalty']))
    // Signed by the demo's carrier, verified and mapped by the collector (config/webhooks.yaml).
    await expect
      .poll(
        async () => {
          const res = await fetch(`${sb.apiUrl}/api/events?type=retail.shipment.*&limit=10`)
          return ((await res.json()) as { events: unknown[] }).events.length
        },
        { timeout: 60_000, interval: 1_000 },
      )
      .toBeGreaterThan(0)
  })
})
