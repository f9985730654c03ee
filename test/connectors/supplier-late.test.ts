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

const events = async (type: string) =>
  (
    (await (await fetch(`${sb.apiUrl}/api/events?type=${type}&limit=100`)).json()) as {
      events: Array<{ subject: string }>
    }
  ).events.map((e) => e.subject)

describe('signalbox load --scenario supplier-late', () => {
  it('sends purchase orders through the real connector, and those of the late supplier go unacknowledged', async () => {
    const report = await runLoad(
      {
        scenario: 'supplier-late',
        collectorUrl: sb.collectorUrl,
        apiUrl: sb.apiUrl,
        seconds: 8,
        ordersPerMinute: 0,
        seed: 5,
      },
      new PassThrough(),
    )
    expect(report.businessEvents.failed).toBe(0)
    const created = await events('retail.purchase_order.created')
    const sent = await events('retail.purchase_order.sent')
    const acknowledged = await events('retail.purchase_order.acknowledged')
    // One purchase order every other second, each sent to the portal.
    expect(created).toHaveLength(4)
    expect(sent.sort()).toEqual([...created].sort())
    // The first came before the supplier fell behind; those in the middle half wait for it still.
    expect(acknowledged.length).toBeGreaterThan(0)
    expect(acknowledged.length).toBeLessThan(created.length)
  })
})
