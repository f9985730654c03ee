import { PassThrough } from 'node:stream'
import { describe, expect, it, onTestFinished } from 'vitest'
import { callbackHealth } from '../../api/connector-probes.ts'
import { customer } from '../../connectors/estate/customers.ts'
import { type Served, serveOnLoopback } from '../../connectors/estate/serve.ts'
import { runLoad } from '../../connectors/load/run.ts'
import { orderToCashConnector } from '../../connectors/order-to-cash/index.ts'
import type { Order } from '../../connectors/order-to-cash/order.ts'
import { Connector, callbackApp } from '../../connectors/sdk/index.ts'
import { useDemo } from '../support/demo.ts'

// Callbacks probed every second, so the periodic probe is seen without waiting long.
const fixture = useDemo({ env: { SIGNALBOX_CALLBACK_PROBE_SECONDS: '1' } })
const api = () => fixture.sb.apiUrl
const OTHER_SECRET = `whsec_${Buffer.from('a second instance with its own secret').toString('base64')}`

interface Listed {
  id: string
  callbackUrl: string
  callback: {
    status: string
    lastProbedAt: string | null
    lastAnsweredAt: string | null
    error: string | null
  }
}

async function listed(id: string): Promise<Listed | undefined> {
  const body = (await (await fetch(`${api()}/api/connectors`)).json()) as { connectors: Listed[] }
  return body.connectors.find((c) => c.id === id)
}

async function probe(id: string) {
  const res = await fetch(`${api()}/api/connectors/${id}/probe`, { method: 'POST' })
  expect(res.status).toBe(200)
  return ((await res.json()) as { callback: Listed['callback'] }).callback
}

async function auditDetails(): Promise<string[]> {
  const body = (await (await fetch(`${api()}/api/audit`)).json()) as {
    entries: Array<{ detail: string | null }>
  }
  return body.entries.map((e) => e.detail ?? '')
}

/** Another instance of the demo's order-to-cash connector: same id, its own callback and secret. */
async function secondOrderToCash(): Promise<{ connector: Connector; served: Served; url: string }> {
  const connector = orderToCashConnector({
    collectorUrl: fixture.sb.collectorUrl,
    apiUrl: api(),
    urls: fixture.demo.estate.urls,
  })
  const served = await serveOnLoopback(callbackApp(connector, [OTHER_SECRET]))
  onTestFinished(async () => {
    await served.close()
    await connector.telemetry.shutdown()
  })
  return { connector, served, url: `${served.url}/callbacks` }
}

const order = (orderId: string): Order => ({
  orderId,
  channel: 'web',
  fulfilment: 'ship',
  customer: customer(11),
  lines: [{ sku: 'SKU-3', quantity: 1, unitPrice: 12.5 }],
})

describe('a connector owns its registration', () => {
  it("refuses a second instance's callback for a live id, and replays still reach the first", async () => {
    const second = await secondOrderToCash()
    const refused = await fetch(`${api()}/api/connectors`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'order-to-cash', system: 'storefront', flows: [], callbackUrl: second.url }),
    })
    expect(refused.status).toBe(409)
    const { error } = (await refused.json()) as { error: { code: string; message: string } }
    expect(error.code).toBe('connector_registered')
    expect(error.message).toContain(fixture.demo.callbackUrl)
    expect(error.message).toMatch(/answered Signalbox's probe just now.*"replace": true/)
    // The SDK says the same.
    await expect(second.connector.register(second.url)).rejects.toThrow(
      /refused to register connector 'order-to-cash' \(409\)/,
    )

    expect(await listed('order-to-cash')).toMatchObject({
      callbackUrl: fixture.demo.callbackUrl,
      callback: { status: 'answering', error: null },
    })
    // A failed ERP posting replayed from Signalbox still runs on the demo's connector.
    fixture.demo.estate.erp.faults.outage = true
    const failed = await fixture.demo.orderToCash.run('post_sales_order', order('SO-REG-1'))
    fixture.demo.estate.erp.faults.outage = false
    expect(failed.status).toBe('failed')
    const replay = await fetch(`${api()}/api/exceptions/${failed.exceptionId}/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-signalbox-user': 'ops@example.com' },
      body: JSON.stringify({ reason: 'ERP back' }),
    })
    expect(((await replay.json()) as { replay: { status: string } }).replay.status).toBe('succeeded')
    expect(fixture.demo.estate.erp.salesOrdersFor('SO-REG-1')).toHaveLength(1)
  })

  it("leaves the demo's registrations alone when signalbox load runs beside it", async () => {
    await runLoad(
      {
        scenario: 'steady',
        collectorUrl: fixture.sb.collectorUrl,
        apiUrl: api(),
        seconds: 1,
        ordersPerMinute: 0,
        seed: 77,
      },
      new PassThrough(),
    )
    for (const id of ['order-to-cash', 'fulfilment', 'inventory-sync', 'return-to-refund']) {
      const demo = await listed(id)
      expect(demo?.callbackUrl, id).not.toBe((await listed(`${id}-load`))?.callbackUrl)
      expect(await probe(id), id).toMatchObject({ status: 'answering' })
      // The load's own connectors stopped with it: their callbacks no longer answer.
      expect(await probe(`${id}-load`), `${id}-load`).toMatchObject({ status: 'not_answering' })
    }
    expect((await listed('order-to-cash'))?.callbackUrl).toBe(fixture.demo.callbackUrl)
  })

  it('lets a registration that says replace take the id over, kept in the audit log', async () => {
    const second = await secondOrderToCash()
    onTestFinished(() => fixture.demo.orderToCash.register(fixture.demo.callbackUrl, { replace: true }))
    await second.connector.register(second.url, { replace: true })
    expect((await listed('order-to-cash'))?.callbackUrl).toBe(second.url)
    expect(await auditDetails()).toContain(
      `connector order-to-cash: callback ${fixture.demo.callbackUrl} → ${second.url}, replaced on request ("replace": true)`,
    )
    // It verifies with its own secret, not Signalbox's: the probe shows that replays would be refused.
    expect(await probe('order-to-cash')).toMatchObject({
      status: 'not_answering',
      lastAnsweredAt: null,
      error: expect.stringMatching(
        /refused Signalbox's signature .*another secret than SIGNALBOX_CALLBACK_SECRET/,
      ),
    })
  })

  it("marks a stopped connector's callback as not answering, and lets its restart take the id back", async () => {
    const start = async () => {
      const connector = new Connector({
        id: 'reg-sync',
        system: 'erp',
        collectorUrl: fixture.sb.collectorUrl,
        apiUrl: api(),
      }).step<{ id: string }>('noop', {
        flow: 'order_to_cash',
        stage: 'erp_posted',
        entity: (i) => ({ type: 'order', id: i.id }),
        run: async () => undefined,
      })
      const served = await serveOnLoopback(callbackApp(connector, [fixture.sb.config.replay.callbackSecret]))
      onTestFinished(async () => {
        await served.close()
        await connector.telemetry.shutdown()
      })
      await connector.register(`${served.url}/callbacks`)
      return { served, url: `${served.url}/callbacks` }
    }
    const first = await start()
    const answering = await probe('reg-sync')
    expect(answering).toMatchObject({ status: 'answering', error: null })
    expect(answering.lastAnsweredAt).not.toBeNull()

    await first.served.close()
    // The periodic probe finds out by itself.
    await expect
      .poll(async () => (await listed('reg-sync'))?.callback.status, { timeout: 20_000 })
      .toBe('not_answering')
    const stopped = await listed('reg-sync')
    expect(stopped?.callback.error).toMatch(/the callback could not be reached: ECONNREFUSED/)
    expect(stopped?.callback.lastAnsweredAt).not.toBeNull()
    expect(Date.parse(stopped?.callback.lastProbedAt ?? '')).toBeGreaterThan(
      Date.parse(stopped?.callback.lastAnsweredAt ?? ''),
    )

    // Restarted on another port: the old callback is gone, so no replace is needed; audited all the same.
    const restarted = await start()
    expect((await listed('reg-sync'))?.callbackUrl).toBe(restarted.url)
    expect(await auditDetails()).toContainEqual(
      expect.stringMatching(
        `^connector reg-sync: callback ${first.url} → ${restarted.url}; the previous callback did not answer \\(the callback could not be reached`,
      ),
    )
    await expect.poll(async () => (await listed('reg-sync'))?.callback.status).toBe('answering')
  })

  it('lets an admin remove a connector taken out of service, and takes it back when it registers again', async () => {
    const register = () =>
      fetch(`${api()}/api/connectors`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          id: 'retired-pos',
          system: 'pos',
          flows: ['order_to_cash'],
          callbackUrl: 'http://127.0.0.1:9/callbacks',
        }),
      })
    const remove = () => fetch(`${api()}/api/connectors/retired-pos`, { method: 'DELETE' })
    expect((await register()).status).toBe(201)
    expect(await listed('retired-pos')).toBeDefined()

    const removed = await remove()
    expect(removed.status).toBe(200)
    expect(await removed.json()).toEqual({
      removed: 'retired-pos',
      callbackUrl: 'http://127.0.0.1:9/callbacks',
    })
    expect(await listed('retired-pos')).toBeUndefined()
    // Neither probed nor called: as far as the api goes, there is no such connector.
    expect((await fetch(`${api()}/api/connectors/retired-pos/probe`, { method: 'POST' })).status).toBe(404)
    expect((await remove()).status).toBe(404)
    expect(await auditDetails()).toContain(
      'connector retired-pos removed (callback http://127.0.0.1:9/callbacks)',
    )

    expect((await register()).status).toBe(201)
    expect(await listed('retired-pos')).toMatchObject({ callbackUrl: 'http://127.0.0.1:9/callbacks' })
  })

  it('answers a probe for an unknown connector with 404', async () => {
    const res = await fetch(`${api()}/api/connectors/no-such-connector/probe`, { method: 'POST' })
    expect(res.status).toBe(404)
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      "no connector 'no-such-connector' is registered",
    )
  })

  it('says never probed until a probe of the current callback is recorded', () => {
    expect(callbackHealth([])).toEqual({
      status: 'never_probed',
      lastProbedAt: null,
      lastAnsweredAt: null,
      error: null,
    })
  })
})
