import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RuleOfKind, ruleValues } from '../../alerts/rules.ts'
import { lastClosedDay, type PreviousDay, tellPreviousDay } from '../../connectors/estate/previous-day.ts'
import { businessDayBounds, dayClosed, loadBatches } from '../../core/batches.ts'
import { loadFlows } from '../../core/flows.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

const demoConfig = join(import.meta.dirname, '../../config/demo')
let sb: TestSignalbox
let told: PreviousDay
beforeAll(async () => {
  sb = await startSignalbox({ SIGNALBOX_CONFIG_DIR: demoConfig })
  told = await tellPreviousDay(sb.collectorUrl, {
    run: 'PDTEST01',
    source: 'urn:signalbox:connector:order-to-cash',
    connector: 'order-to-cash',
  })
})
afterAll(async () => {
  await sb?.close()
})

describe('the demo’s previous business day', () => {
  it('is the last day closed, as config/demo/batches.yaml closes them, whatever the hour', () => {
    const batches = loadBatches(demoConfig)
    for (const now of [Date.parse('2026-12-01T05:59:00Z'), Date.parse('2026-12-01T06:00:00Z'), Date.now()]) {
      const day = lastClosedDay(now)
      expect(dayClosed(day, batches, now), `${day} at ${new Date(now).toISOString()}`).toBe(true)
      const next = new Date(businessDayBounds(day, batches.timezone).end).toISOString().slice(0, 10)
      expect(dayClosed(next, batches, now)).toBe(false)
    }
    expect(lastClosedDay(Date.parse('2026-12-01T05:59:00Z'))).toBe('2026-11-29')
    expect(lastClosedDay(Date.parse('2026-12-01T06:00:00Z'))).toBe('2026-11-30')
  })

  it('leaves one order unposted, which the unreconciled rule raises for its closed day and channel', async () => {
    const ctx = { store: sb.store, flows: loadFlows(demoConfig), batches: loadBatches(demoConfig) }
    const values = await ruleValues(
      ctx,
      { kind: 'unreconciled', settings: { above: 0, days: 7 } } as RuleOfKind,
      new Date(),
    )
    expect(
      values.filter((v) => v.labels.day === told.day).map((v) => [v.labels.channel, v.value, v.over]),
    ).toEqual([['pos', 1, true]])
    const res = await fetch(`${sb.apiUrl}/api/reconciliation?day=${told.day}`)
    expect(JSON.stringify(await res.json())).toContain(told.unposted)
  })

  it('completes every other order end to end, so only the unposted one is stuck', async () => {
    const status = async (id: string) =>
      ((await (await fetch(`${sb.apiUrl}/api/orders/${id}/lifecycle`)).json()) as { status: string }).status
    for (const id of told.orders)
      expect(await status(id), id).toBe(id === told.unposted ? 'stuck' : 'completed')
  })
})
