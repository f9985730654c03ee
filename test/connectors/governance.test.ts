import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GovernanceActivity, UNOWNED_SERVICE } from '../../connectors/estate/governance.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'
import { until } from '../support/until.ts'

let sb: TestSignalbox
beforeAll(async () => {
  sb = await startSignalbox()
})
afterAll(async () => {
  await sb?.close()
})

const get = async <T>(path: string) => (await (await fetch(`${sb.apiUrl}${path}`)).json()) as T

describe('the demo’s governance activity', () => {
  it('deploys connectors’ next versions and runs a service the catalog does not name', async () => {
    const activity = new GovernanceActivity(sb.collectorUrl)
    expect(await activity.deploy(new Date(Date.now() - 60_000))).toEqual({
      integration: 'return-to-refund',
      version: '1.8.0',
    })
    expect(await activity.deploy()).toEqual({ integration: 'order-to-cash', version: '2.4.0' })
    activity.exportPoints()
    await activity.close()
    const { changes } = await get<{
      changes: Array<{ integration: string; version: string; source: string }>
    }>('/api/changes')
    expect(changes.map((c) => [c.integration, c.version, c.source])).toEqual([
      ['return-to-refund', '1.8.0', 'deploy'],
      ['order-to-cash', '2.4.0', 'deploy'],
    ])
    const unowned = await until(
      async () => (await get<{ unowned: Array<{ name: string }> }>('/api/catalog')).unowned,
      (u) => u.length > 0,
    )
    expect(unowned.map((u) => u.name)).toEqual([UNOWNED_SERVICE])
  })
})
