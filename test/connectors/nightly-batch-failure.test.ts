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

type Jobs = {
  jobs: Array<{
    job: string
    state: string
    lastRun: { status: string; rows: number; error: string | null } | null
  }>
}
type Reconciliation = { unmatched: Array<{ entity: { id: string }; reason: string; channel: string }> }

describe('signalbox load nightly-batch-failure', () => {
  it('fails a store’s sales posting while the ERP is down, leaves its orders unposted, and exports once it is back', async () => {
    const report = await runLoad(
      {
        scenario: 'nightly-batch-failure',
        collectorUrl: sb.collectorUrl,
        apiUrl: sb.apiUrl,
        seconds: 16,
        ordersPerMinute: 60,
        seed: 19,
      },
      new PassThrough(),
    )
    expect(report.orderWebhooks.sent).toBe(16)
    // The batches' own events are in what the report says was sent: each one acknowledged (stored or
    // dropped as a duplicate). A send the collector refused under load (429) is counted as failed.
    expect(report.businessEvents.acknowledgedBySignalbox + report.businessEvents.duplicatesDropped).toBe(
      report.businessEvents.sent,
    )
    const { jobs } = (await (await fetch(`${sb.apiUrl}/api/batches`)).json()) as Jobs
    const last = Object.fromEntries(jobs.map((j) => [j.job, j.lastRun]))
    // Manchester posted before the outage; London's run came during it; the export after it.
    expect(last['store-sales-posting.STORE-MAN-02']).toMatchObject({ status: 'completed' })
    expect(last['store-sales-posting.STORE-LDN-01']).toMatchObject({
      status: 'failed',
      rows: 0,
      error: expect.stringContaining('ERP is unavailable'),
    })
    expect(last['erp-daily-export']).toMatchObject({ status: 'completed' })
    expect(jobs.find((j) => j.job === 'store-sales-posting.STORE-LDN-01')?.state).toBe('failed')
    // Till sales captured while the ERP was down never reached it: unmatched on the day.
    const day = new Date().toISOString().slice(0, 10)
    const rec = (await (
      await fetch(`${sb.apiUrl}/api/reconciliation?day=${day}&channel=pos`)
    ).json()) as Reconciliation
    expect(
      rec.unmatched.filter((u) => u.reason === 'not_posted').length,
      JSON.stringify(rec).slice(0, 1500),
    ).toBeGreaterThan(0)
  })
})
