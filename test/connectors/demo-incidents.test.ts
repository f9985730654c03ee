import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { type Demo, startDemo } from '../../connectors/demo.ts'
import type { Incidents } from '../../connectors/estate/incidents.ts'
import type { Order } from '../../connectors/order-to-cash/order.ts'
import { quietEstate } from '../support/demo.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

/**
 * The demo's story, driven directly instead of on its timers: the orders the storefront's own cadence
 * makes meet the estate's troubles, which become exceptions of their causes; the credit-hold order
 * is fixed by an edited replay and completes; the order the warehouse sits on shows as stuck; the ERP's
 * maintenance window is a burst fixed by a bulk replay; the marketplace's listing review leaves its
 * stock drifting.
 */
let sb: TestSignalbox
let demo: Demo
let incidents: Incidents
const orders: { creditHold?: Order; superseded?: Order; awaitingReplenishment?: Order } = {}

/**
 * config/demo with the warehouse's and the carrier's promises cut from minutes to seconds, so "stuck"
 * needs no wait.
 */
function fastDemoConfig(): string {
  const dir = mkdtempSync(join(tmpdir(), 'signalbox-demo-config-'))
  const demoDir = join(import.meta.dirname, '../../config/demo')
  // The demo's files, and its event contracts (a link to the shipped ones), copied as they are read.
  cpSync(demoDir, dir, { recursive: true, dereference: true })
  const flows = readFileSync(join(dir, 'flows.yaml'), 'utf8')
  const faster = flows
    .replace(/(- name: fulfilled\n\s+events: .*\n\s+max_delay:) 2m/, '$1 2s')
    .replace(/(- name: delivered\n\s+events: .*\n\s+max_delay:) 5m/, '$1 3s')
  expect(faster.match(/max_delay: [23]s/g)).toHaveLength(2)
  writeFileSync(join(dir, 'flows.yaml'), faster)
  return dir
}

interface ExceptionView {
  id: string
  status: string
  connector: string
  step: string
  entity: { id: string }
  error: { class: string; message: string }
  payload: Order
}
const exceptions = async (query = '') =>
  (
    (await (await fetch(`${sb.apiUrl}/api/exceptions?limit=1000${query}`)).json()) as {
      exceptions: ExceptionView[]
    }
  ).exceptions
const exceptionOf = async (orderId: string, step = 'post_sales_order') =>
  (await exceptions()).find((e) => e.entity.id === orderId && e.step === step)
const lifecycle = async (orderId: string) =>
  (await (await fetch(`${sb.apiUrl}/api/orders/${orderId}/lifecycle`)).json()) as {
    status: string
    stages: Array<{ name: string; status: string; replayId: string | null }>
  }

beforeAll(async () => {
  sb = await startSignalbox({ SIGNALBOX_CONFIG_DIR: fastDemoConfig() })
  demo = await startDemo({
    collectorUrl: sb.collectorUrl,
    apiUrl: sb.apiUrl,
    ordersPerMinute: 0,
    callbackSecrets: [sb.config.replay.callbackSecret],
    retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
  })
  // No random faults: only the estate's standing troubles, and the ones a test starts.
  quietEstate(demo.estate)
  incidents = demo.estate.incidents as Incidents
  // The storefront's own orders, in its order, until one of each trouble came up; only those are placed.
  for (let n = 0; n < 200 && Object.keys(orders).length < 3; n++) {
    const o = demo.estate.storefront.nextOrder()
    if (o.tradeAccount === incidents.creditHoldAccount) orders.creditHold ??= o
    else if (o.lines.some((l) => l.sku === incidents.superseded[0])) orders.superseded ??= o
    else if (o.lines.some((l) => l.sku === incidents.awaitingReplenishment))
      orders.awaitingReplenishment ??= o
  }
  for (const o of Object.values(orders)) expect((await demo.placeOrder(o)).status).toBe(202)
})
afterAll(async () => {
  await demo?.close()
  await sb?.close()
})

describe('the demo estate’s troubles', () => {
  it('turn up on the storefront’s own cadence within the first minutes of orders', () => {
    expect(Object.keys(orders).sort()).toEqual(['awaitingReplenishment', 'creditHold', 'superseded'])
    // At 30 orders a minute, each of them shows within the first three minutes.
    const n = (o: Order | undefined) => Number(o?.orderId.split('-').pop())
    for (const o of Object.values(orders)) expect(n(o)).toBeLessThan(90)
  })

  it('a trade account on credit hold and a replaced item code are ERP validation errors, as exceptions', async () => {
    await expect
      .poll(async () => (await exceptionOf(orders.creditHold?.orderId as string))?.error, { timeout: 15_000 })
      .toMatchObject({ class: 'erp.http_422', message: expect.stringContaining('is on credit hold') })
    await expect
      .poll(async () => (await exceptionOf(orders.superseded?.orderId as string))?.error, { timeout: 15_000 })
      .toMatchObject({
        class: 'erp.http_422',
        message: expect.stringContaining(
          `item ${incidents.superseded[0]} was replaced by ${incidents.superseded[1]}`,
        ),
      })
  })

  it('an edited replay posts the credit-hold order prepaid, and its lifecycle completes', async () => {
    const id = orders.creditHold?.orderId as string
    const e = (await exceptionOf(id)) as ExceptionView
    expect(e.payload).toMatchObject({ paymentTerms: 'on_account', tradeAccount: incidents.creditHoldAccount })
    const res = await fetch(`${sb.apiUrl}/api/exceptions/${e.id}/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        by: 'ops@example.com',
        reason: 'customer paid by card over the phone',
        payload: { ...e.payload, paymentTerms: 'prepaid' },
      }),
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as {
      replay: { status: string; diff: unknown[] }
      exception: { status: string }
    }
    expect(body.replay).toMatchObject({
      status: 'succeeded',
      diff: [{ op: 'replace', path: '/paymentTerms', value: 'prepaid' }],
    })
    expect(body.exception.status).toBe('resolved')
    // The warehouse ships it and the carrier delivers it as the demo's timer would.
    await expect
      .poll(
        async () => {
          demo.estate.wms.advance()
          await demo.estate.carrier.advance()
          return (await lifecycle(id)).status
        },
        { timeout: 20_000, interval: 300 },
      )
      .toBe('completed')
    const erpPosted = (await lifecycle(id)).stages.find((s) => s.name === 'erp_posted')
    expect(erpPosted?.replayId).toMatch(/^rpl_/)
  })

  it('the order the warehouse sits on shows as stuck, overdue to be fulfilled', async () => {
    const id = orders.awaitingReplenishment?.orderId as string
    await expect
      .poll(
        async () => {
          demo.estate.wms.advance()
          const res = await fetch(`${sb.apiUrl}/api/flows/order_to_cash/stuck`)
          const stuck = (await res.json()) as {
            stuck: Array<{ entity: { id: string }; overdueStage: string }>
          }
          return stuck.stuck.find((s) => s.entity.id === id)?.overdueStage
        },
        { timeout: 20_000, interval: 300 },
      )
      .toBe('fulfilled')
    expect((await lifecycle(id)).status).toBe('stuck')
  })

  it('an invoiced order whose delivery the carrier never confirms shows as stuck, unconfirmed at delivered', async () => {
    demo.estate.carrier.tracking.missedConfirmationRate = 1
    onTestFinished(() => {
      demo.estate.carrier.tracking.missedConfirmationRate = 0
    })
    let order: Order | undefined
    while (!order) {
      const o = demo.estate.storefront.nextOrder()
      const troubled = [incidents.superseded[0], incidents.awaitingReplenishment]
      if (o.tradeAccount || o.lines.some((l) => troubled.includes(l.sku))) continue
      order = { ...o, fulfilment: 'ship' }
    }
    expect((await demo.placeOrder(order)).status).toBe(202)
    const id = order.orderId
    type StuckView = { entity: { id: string }; kind: string; overdueStage: string; reason: string }
    await expect
      .poll(
        async () => {
          demo.estate.wms.advance()
          await demo.estate.carrier.advance()
          const res = await fetch(`${sb.apiUrl}/api/flows/order_to_cash/stuck?stage=delivered`)
          return ((await res.json()) as { stuck: StuckView[] }).stuck.find((s) => s.entity.id === id)
        },
        { timeout: 30_000, interval: 500 },
      )
      .toMatchObject({
        kind: 'unconfirmed',
        overdueStage: 'delivered',
        reason: expect.stringMatching(
          /^unconfirmed: delivered not confirmed \d+ s after fulfilled, although invoiced$/,
        ),
      })
    // The carrier did get it there: it only never said so.
    expect(demo.estate.carrier.updates.filter((u) => u.reference === id).map((u) => u.status)).toContain(
      'delivered',
    )
    const l = await lifecycle(id)
    expect(l.status).toBe('stuck')
    expect(l.stages.find((s) => s.name === 'delivered')?.status).toBe('overdue')
  })

  it('the ERP’s maintenance window is a burst of exceptions that a bulk replay fixes once it is over', async () => {
    demo.estate.erp.faults.maintenanceUntil = Date.now() + 60_000
    const placed: string[] = []
    while (placed.length < 3) {
      const o = demo.estate.storefront.nextOrder()
      const troubled = [incidents.superseded[0], incidents.awaitingReplenishment]
      if (o.tradeAccount || o.lines.some((l) => troubled.includes(l.sku))) continue
      await demo.placeOrder(o)
      placed.push(o.orderId)
    }
    const burst = async () =>
      (await exceptions('&errorClass=erp.http_503')).filter((e) => placed.includes(e.entity.id))
    await expect.poll(async () => (await burst()).length, { timeout: 15_000 }).toBe(3)
    expect((await burst())[0]?.error.message).toContain('planned maintenance')

    demo.estate.erp.faults.maintenanceUntil = 0
    const res = await fetch(`${sb.apiUrl}/api/exceptions/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        filter: { connector: 'order-to-cash', errorClass: 'erp.http_503' },
        perMinute: 6000,
        by: 'ops@example.com',
        reason: 'ERP maintenance is over',
      }),
    })
    expect(res.status).toBe(201)
    await expect
      .poll(async () => (await burst()).map((e) => e.status), { timeout: 20_000 })
      .toEqual(['resolved', 'resolved', 'resolved'])
  })

  it('a listing the marketplace suppressed misses its stock publication: an exception, and drift', async () => {
    const sku = incidents.bestseller
    demo.estate.erp.adjustStock(sku, 'DC-NORTH', 240, 0)
    const marketplace = async () => {
      const res = await fetch(`${sb.apiUrl}/api/inventory/${sku}?location=DC-NORTH`)
      if (res.status !== 200) return undefined
      const body = (await res.json()) as {
        locations: Array<{ channels: Array<{ channel: string; quantity: number; drift: number | null }> }>
      }
      return body.locations[0]?.channels.find((c) => c.channel === 'marketplace')
    }
    await expect.poll(async () => (await marketplace())?.quantity, { timeout: 15_000 }).toBe(240)

    demo.estate.channels.marketplace.suppressedListings.set(sku, Date.now() + 60_000)
    demo.estate.erp.adjustStock(sku, 'DC-NORTH', 90, 0)
    await expect
      .poll(async () => (await exceptionOf(sku, 'publish_marketplace'))?.error.message, { timeout: 15_000 })
      .toContain('suppressed pending review')
    await expect.poll(async () => (await marketplace())?.drift, { timeout: 15_000 }).toBe(150)
  })
})
