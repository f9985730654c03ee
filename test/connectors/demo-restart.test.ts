import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type Demo, startDemo } from '../../connectors/demo.ts'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import { quietEstate } from '../support/demo.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

/**
 * Ctrl-C and `npm start` again, on the same data dir and the same seed: the second run's orders and
 * stock changes are new (none of its events is dropped as a duplicate), and no order gets a second
 * set of sync spans — the order left in flight at the stop included.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-restart-'))
let sb: TestSignalbox | undefined
let demo: Demo | undefined

async function start() {
  sb = await startSignalbox({ SIGNALBOX_DATA_DIR: dataDir })
  demo = await startDemo({
    collectorUrl: sb.collectorUrl,
    apiUrl: sb.apiUrl,
    ordersPerMinute: 0,
    callbackSecrets: [sb.config.replay.callbackSecret],
    retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
    incidents: false,
  })
  quietEstate(demo.estate)
  return { sb, demo }
}

/**
 * Three orders and a stock change, seen stored; then one more order left in flight at the stop.
 * `run`: 1 for the first run on the data dir, 2 for the second.
 */
async function runOnce(run: number) {
  const { sb: signalbox, demo: running } = await start()
  const orders: string[] = []
  for (let i = 0; i < 3; i++) orders.push((await running.placeOrder()).order.orderId)
  const types = async (subject: string) => {
    const res = await fetch(`${signalbox.apiUrl}/api/events?subject=${subject}&limit=1000`)
    return ((await res.json()) as { events: Array<{ type: string }> }).events.map((e) => e.type)
  }
  const change = running.estate.erp.adjustStock(...running.estate.storefront.nextStockChange())
  // The same seed changes the same SKU each run: the store holds the earlier runs' events for it too.
  const count = async (type: string) => (await types(change.sku)).filter((t) => t === type).length
  await expect
    .poll(
      async () => (await Promise.all(orders.map(types))).every((t) => t.includes('retail.order.erp_posted')),
      {
        timeout: 20_000,
      },
    )
    .toBe(true)
  await expect.poll(() => count('retail.inventory.adjusted'), { timeout: 20_000 }).toBe(run)
  await expect
    .poll(() => count('retail.inventory.published'), { timeout: 20_000 })
    .toBeGreaterThanOrEqual(3 * run)
  const inFlight = (await running.placeOrder()).order.orderId
  await running.close()
  demo = undefined
  const metrics = await (await fetch(`${signalbox.collectorUrl}/metrics`)).text()
  await signalbox.stop()
  return { orders, inFlight, change, metrics }
}

const counter = (metrics: string, name: string) =>
  Number(
    metrics
      .split('\n')
      .find((l) => l.startsWith(name))
      ?.split(' ')
      .pop() ?? 0,
  )

afterAll(async () => {
  await demo?.close()
  await sb?.close()
})

describe('a restart of the demo on the same data dir', () => {
  it('adds new orders and stock changes, drops no event as a duplicate and doubles no span', async () => {
    const first = await runOnce(1)
    const second = await runOnce(2)
    for (const run of [first, second]) {
      expect(counter(run.metrics, 'signalbox_collector_duplicate_events_total')).toBe(0)
      expect(counter(run.metrics, 'signalbox_collector_duplicate_spans_total')).toBe(0)
    }
    // The same seed makes the same orders and stock changes, under new ids.
    expect(second.change.sku).toBe(first.change.sku)
    expect(second.change.id).not.toBe(first.change.id)
    expect(second.orders.filter((id) => first.orders.includes(id) || id === first.inFlight)).toEqual([])

    // Once more on the store both runs wrote: every order once, every sync step once per order.
    sb = await startSignalbox({ SIGNALBOX_DATA_DIR: dataDir })
    const created = await sb.rows<{ subject: string }>(
      sql`SELECT subject FROM ${table(TABLES.events)} WHERE type = 'retail.order.created'`,
    )
    const stored = created.map((r) => r.subject)
    for (const id of [...first.orders, ...second.orders]) expect(stored).toContain(id)
    expect(new Set(stored).size).toBe(stored.length)
    // Each copy's ids and times, so a failure says whether it is one span stored twice or two runs.
    const doubled = await sb.rows<{ entity: string; name: string; n: string; copies: unknown[] }>(sql`
      SELECT entities[1].2 AS entity, name, count() AS n,
        groupArray(tuple(trace_id, span_id, toString(timestamp), toString(duration_ns), resource_id)) AS copies
      FROM ${table(TABLES.spans)}
      WHERE kind = 'consumer' AND startsWith(name, 'sync ') AND notEmpty(entities)
      GROUP BY entity, name, attributes['signalbox.idempotency_key'] HAVING n > 1`)
    expect(doubled).toEqual([])
    const adjusted = await sb.rows<{ n: string }>(
      sql`SELECT count() AS n FROM ${table(TABLES.events)} WHERE type = 'retail.inventory.adjusted'`,
    )
    expect(Number(adjusted[0]?.n)).toBe(2)
  })
})
