import { describe, expect, it, onTestFinished } from 'vitest'
import type { TraceSpan } from '../../api/routes/traces.ts'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import { useDemo } from '../support/demo.ts'

const fixture = useDemo()

const STAGE_EVENTS = [
  'retail.order.tax_calculated',
  'retail.order.created',
  'retail.order.payment_authorized',
  'retail.order.inventory_reserved',
  'retail.order.erp_posted',
]

describe('an order placed in the storefront', () => {
  it('goes through every order-to-cash stage the connector owns, observable by order id', async () => {
    const { order, status } = await fixture.demo.placeOrder()
    expect(status).toBe(202)
    // Each step is its own run, handed on when the previous one ends: wait for the last one's span.
    const spanStages = async () => {
      await fixture.demo.orderToCash.telemetry.flush()
      const rows = await fixture.sb.rows<{ stage: string }>(
        sql`SELECT stage FROM ${table(TABLES.entityIndex)} WHERE entity_type = 'order' AND entity_id = ${order.orderId} AND kind = 'span' ORDER BY time`,
      )
      return rows.map((r) => r.stage)
    }
    await expect
      .poll(spanStages, { timeout: 20_000 })
      .toEqual(['captured', 'payment_authorized', 'inventory_reserved', 'erp_posted', 'released'])
    expect(fixture.demo.estate.wms.releases.has(order.orderId)).toBe(true)

    const events = (await (
      await fetch(`${fixture.sb.apiUrl}/api/events?subject=${order.orderId}`)
    ).json()) as {
      events: Array<{ type: string; traceId: string | null; integration: { connector: string } }>
    }
    expect(events.events.map((e) => e.type).sort()).toEqual([...STAGE_EVENTS].sort())
    for (const e of events.events) {
      expect(e.traceId).toMatch(/^[0-9a-f]{32}$/)
      expect(e.integration.connector).toBe('order-to-cash')
    }
    const indexed = await fixture.sb.rows<{ kind: string; name: string; stage: string }>(
      sql`SELECT kind, name, stage FROM ${table(TABLES.entityIndex)} WHERE entity_type = 'order' AND entity_id = ${order.orderId} ORDER BY time`,
    )
    expect(indexed.filter((r) => r.kind === 'event').map((r) => r.name)).toEqual(STAGE_EVENTS)
    expect(fixture.demo.estate.erp.salesOrdersFor(order.orderId)).toHaveLength(1)

    // The ERP traces the request it answered, under its own service name, inside the connector's trace.
    const posted = events.events.find((e) => e.type === 'retail.order.erp_posted')
    const trace = async () => {
      const res = await fetch(`${fixture.sb.apiUrl}/api/traces/${posted?.traceId}`)
      return res.ok ? ((await res.json()) as { spans: TraceSpan[] }).spans : []
    }
    await expect
      .poll(async () => (await trace()).some((s) => s.service === 'erp'), { timeout: 10_000 })
      .toBe(true)
    const spans = await trace()
    const server = spans.find((s) => s.service === 'erp') as TraceSpan
    const client = spans.find((s) => s.spanId === server.parentSpanId) as TraceSpan
    expect(server).toMatchObject({ kind: 'server', name: 'POST /api/salesorders' })
    expect(client).toMatchObject({
      kind: 'client',
      service: 'connector-order-to-cash',
      integration: { system: 'erp' },
    })
  })

  it('survives ERP throttling: the connector backs off on 429 and the order still posts once', async () => {
    // Two throttled answers, shared by three orders: each order is refused at most twice, then posts.
    fixture.demo.estate.erp.faults = { errorRate: 0, throttleRate: 0, outage: false, throttleNext: 2 }
    try {
      const placed = await Promise.all([
        fixture.demo.placeOrder(),
        fixture.demo.placeOrder(),
        fixture.demo.placeOrder(),
      ])
      for (const { order } of placed) {
        await expect
          .poll(() => fixture.demo.estate.wms.releases.has(order.orderId), { timeout: 30_000 })
          .toBe(true)
        expect(fixture.demo.estate.erp.salesOrdersFor(order.orderId)).toHaveLength(1)
      }
      expect(fixture.demo.estate.erp.faults.throttleNext).toBe(0)
    } finally {
      fixture.demo.estate.erp.faults = { errorRate: 0, throttleRate: 0, outage: false }
    }
  })

  it('refuses a malformed order webhook with 400, like the real intake', async () => {
    const res = await fetch(fixture.demo.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderId: 'x' }),
    })
    expect(res.status).toBe(400)
  })
})

describe('a system that answers 200 with a malformed body', () => {
  it('fails the step without retrying and records the exception as a malformed response', async () => {
    const { erp } = fixture.demo.estate
    erp.faults = { errorRate: 0, throttleRate: 0, outage: false, malformedRate: 1 }
    onTestFinished(() => {
      erp.faults = { errorRate: 0, throttleRate: 0, outage: false }
    })
    const order = fixture.demo.estate.storefront.nextOrder()
    const outcome = await fixture.demo.orderToCash.run('post_sales_order', order)
    expect(outcome).toMatchObject({ status: 'failed', error: { class: 'erp.malformed_response' } })
    const res = await fetch(`${fixture.sb.apiUrl}/api/exceptions?connector=order-to-cash`)
    const body = (await res.json()) as { exceptions: Array<{ entity: { id: string }; attempts: number }> }
    expect(body.exceptions.find((e) => e.entity.id === order.orderId)?.attempts).toBe(1)
  })
})
