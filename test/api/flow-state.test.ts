import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { flowShape, loadFlows } from '../../core/flows.ts'
import { refreshFlowState } from '../../store/queries/flow-state.ts'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import { sendEvents } from '../support/events.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

let sb: TestSignalbox
const HOUR = 3_600_000
const flow = flowShape(loadFlows(`${import.meta.dirname}/../../config`).get('order_to_cash') as never)
const base = Date.now() - 3 * HOUR

let n = 0
const event = (type: string, subject: string, at: number) => ({
  specversion: '1.0',
  id: `fs-${n++}`,
  source: 'urn:flow-state-test',
  type,
  subject,
  time: new Date(at).toISOString(),
  datacontenttype: 'application/json',
  data: { channel: 'web' },
})

const send = (events: object[]) => sendEvents(sb.collectorUrl, events)

type Stuck = {
  stuck: Array<{ entity: { id: string }; overdueStage: string; lastStageAt: string; overdueMs: number }>
}
const stuck = async () => {
  const res = await fetch(`${sb.apiUrl}/api/flows/order_to_cash/stuck`)
  return ((await res.json()) as Stuck).stuck.filter((s) => s.entity.id.startsWith('FS-'))
}

beforeAll(async () => {
  sb = await startSignalbox()
  // FS-1 stopped after payment three hours ago (late for its reservation); FS-2 was cancelled.
  await send([
    event('retail.order.created', 'FS-1', base),
    event('retail.order.payment_authorized', 'FS-1', base + 60_000),
    event('retail.order.created', 'FS-2', base),
    event('retail.order.cancelled', 'FS-2', base + 120_000),
  ])
})
afterAll(async () => {
  await sb?.close()
})

describe('the per-flow entity state', () => {
  it('holds each entity’s stage times, and reads from it alone give what the live reads gave', async () => {
    await expect.poll(stuck).toHaveLength(1)
    const live = await stuck()
    // Without slack, the watermark is after every arrival: the reads come from the kept state only.
    await refreshFlowState(sb.store, flow, { slackMs: 0 })
    const rows = await sb.rows<{ entity_id: string; ts: string[]; last_stage: number; terminated: number }>(
      sql`SELECT entity_id, ts, last_stage, terminated FROM ${table(TABLES.flowEntities)} FINAL
        WHERE flow = 'order_to_cash' ORDER BY entity_id`,
    )
    expect(
      rows.map((r) => [
        r.entity_id,
        r.ts.slice(0, 3).map(Number),
        Number(r.last_stage),
        Number(r.terminated),
      ]),
    ).toEqual([
      ['FS-1', [base, base + 60_000, 0], 2, 0],
      ['FS-2', [base, 0, 0], 1, 1],
    ])
    const withoutNow = (s: Stuck['stuck']) => s.map(({ overdueMs: _, ...rest }) => rest)
    expect(withoutNow(await stuck())).toEqual(withoutNow(live))
    expect(live[0]).toMatchObject({ entity: { id: 'FS-1' }, overdueStage: 'inventory_reserved' })
    // Proof the stuck list reads the waiting entities kept: rows saying FS-1 waits for its payment
    // instead (the one it had taken away, the new one added, as a refresh writes them) show.
    await sb.store.command(sql`
      INSERT INTO ${table(TABLES.flowWaiting)} (flow, awaited, since_ms, entity_id, awaited_after, last_stage, channel, last_ms, n)
      SELECT flow, awaited, since_ms, entity_id, awaited_after, last_stage, channel, last_ms, -sum(n)
      FROM ${table(TABLES.flowWaiting)} WHERE entity_id = 'FS-1'
      GROUP BY flow, awaited, since_ms, entity_id, awaited_after, last_stage, channel, last_ms
      UNION ALL
      SELECT 'order_to_cash', 2, ${base}, 'FS-1', 1, 1, 'web', ${base}, 1`)
    expect((await stuck()).map((s) => s.overdueStage)).toEqual(['payment_authorized'])
  })

  it('reads an entity that changed since the watermark live, never twice and never stale', async () => {
    await refreshFlowState(sb.store, flow, { slackMs: 0 })
    await send([event('retail.order.inventory_reserved', 'FS-1', base + 5 * 60_000)])
    await expect.poll(async () => (await stuck()).map((s) => s.overdueStage)).toEqual(['erp_posted'])
  })
})
