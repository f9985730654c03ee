import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runLoad } from '../../connectors/load/run.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

let sb: TestSignalbox
beforeAll(async () => {
  sb = await startSignalbox()
})
afterAll(async () => {
  await sb?.close()
})

describe('signalbox load', () => {
  it('drives a marketplace retry storm: every delivery accepted, every event either stored or dropped as a duplicate', async () => {
    const progress = new PassThrough()
    let shown = ''
    progress.on('data', (d) => {
      shown += String(d)
    })
    const report = await runLoad(
      {
        scenario: 'marketplace-retry-storm',
        collectorUrl: sb.collectorUrl,
        apiUrl: sb.apiUrl,
        seconds: 3,
        ordersPerMinute: 60,
        seed: 9,
      },
      progress,
    )
    expect(report.orderWebhooks).toEqual({ sent: 15, accepted: 15 })
    expect(report.businessEvents.failed).toBe(0)
    expect(report.businessEvents.duplicatesDropped).toBeGreaterThan(0)
    expect(report.businessEvents.acknowledgedBySignalbox + report.businessEvents.duplicatesDropped).toBe(
      report.businessEvents.sent,
    )
    // Three orders, each captured once whatever the number of deliveries.
    const created = (await (await fetch(`${sb.apiUrl}/api/events?type=retail.order.created`)).json()) as {
      events: unknown[]
    }
    expect(created.events).toHaveLength(3)
    expect(shown).toContain('marketplace-retry-storm')
  })

  it('runs again with the same seed as new orders: no event is dropped as a duplicate', async () => {
    const steady = () =>
      runLoad(
        {
          scenario: 'steady',
          collectorUrl: sb.collectorUrl,
          apiUrl: sb.apiUrl,
          seconds: 2,
          ordersPerMinute: 60,
          seed: 42,
        },
        new PassThrough(),
      )
    const first = await steady()
    const second = await steady()
    for (const report of [first, second]) {
      expect(report.orderWebhooks).toEqual({ sent: 2, accepted: 2 })
      expect(report.businessEvents.sent).toBeGreaterThan(0)
      expect(report.businessEvents.duplicatesDropped).toBe(0)
      expect(report.businessEvents.acknowledgedBySignalbox).toBe(report.businessEvents.sent)
    }
  })

  it('refuses an unknown scenario', async () => {
    await expect(
      runLoad({
        scenario: 'cyber-monday',
        collectorUrl: sb.collectorUrl,
        apiUrl: sb.apiUrl,
        seconds: 1,
        ordersPerMinute: 1,
        seed: 1,
      }),
    ).rejects.toThrow(/unknown scenario/)
  })
})
