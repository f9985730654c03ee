import { describe, expect, it, onTestFinished } from 'vitest'
import type { TraceSpan } from '../../api/routes/traces.ts'
import { customer } from '../../connectors/estate/customers.ts'
import type { Order } from '../../connectors/order-to-cash/order.ts'
import { signCallback } from '../../connectors/sdk/index.ts'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import { useDemo } from '../support/demo.ts'

const SECRET = `whsec_${Buffer.from('order-to-cash callback secret, 32 bytes!').toString('base64')}`
const NEXT_SECRET = `whsec_${Buffer.from('the rotated secret for the callbacks!!').toString('base64')}`

const fixture = useDemo({ callbackSecrets: [SECRET, NEXT_SECRET] })
const erp = () => fixture.demo.estate.erp
const connector = () => fixture.demo.orderToCash
const callbackUrl = () => fixture.demo.callbackUrl

const order = (orderId: string): Order => ({
  orderId,
  channel: 'web',
  fulfilment: 'ship',
  customer: customer(7),
  lines: [{ sku: 'SKU-1', quantity: 2, unitPrice: 19.95 }],
})

async function exceptionsFor(orderId: string) {
  const res = await fetch(`${fixture.sb.apiUrl}/api/exceptions?connector=order-to-cash`)
  const body = (await res.json()) as {
    exceptions: Array<{
      id: string
      entity: { id: string }
      occurrences: number
      payload: unknown
      traceId: string
      spanId: string
      error: { class: string }
      step: string
    }>
  }
  return body.exceptions.filter((e) => e.entity.id === orderId)
}

function callback(id: string, body: unknown, secret = SECRET, at = new Date()) {
  const text = JSON.stringify(body)
  return fetch(callbackUrl(), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signCallback(secret, id, text, at) },
    body: text,
  })
}

describe('a sync that fails for good', () => {
  it('records an exception with its payload, and a repeat raises the count instead of adding one', async () => {
    erp().faults.outage = true
    onTestFinished(() => {
      erp().faults.outage = false
    })
    const first = await connector().run('post_sales_order', order('SO-9001'))
    expect(first.status).toBe('failed')
    expect(first.error?.class).toBe('erp.http_503')
    await connector().run('post_sales_order', order('SO-9001'))
    erp().faults.outage = false
    const [exception, ...others] = await exceptionsFor('SO-9001')
    expect(others).toEqual([])
    expect(exception).toMatchObject({
      step: 'post_sales_order',
      occurrences: 2,
      error: { class: 'erp.http_503' },
    })
    // What a replay needs is kept. The customer's personal data is encrypted at rest: the row in
    // the store does not hold it, and the local user (an operator, without authentication) reads it.
    const payload = exception?.payload as ReturnType<typeof order>
    expect(payload.orderId).toBe('SO-9001')
    expect(payload.lines).toEqual(order('SO-9001').lines)
    expect(payload.customer).toEqual(order('SO-9001').customer)
    const [row] = await fixture.sb.rows<{ payload: string }>(
      sql`SELECT payload FROM ${table(TABLES.exceptions)} FINAL WHERE id = ${exception?.id ?? ''}`,
    )
    const stored = JSON.parse(row?.payload ?? '{}') as { orderId: string; customer: Record<string, unknown> }
    expect(stored.orderId).toBe('SO-9001')
    for (const field of ['name', 'email', 'phone', 'address'])
      expect(stored.customer[field]).toEqual({ $encrypted: expect.stringMatching(/^sbx1\./) })
    expect(row?.payload).not.toContain(order('SO-9001').customer.email)
    expect(row?.payload).not.toContain(order('SO-9001').customer.address.line1)
    expect(exception?.traceId).toMatch(/^[0-9a-f]{32}$/)
    expect(erp().salesOrdersFor('SO-9001')).toEqual([])
  })
})

describe('a signed replay through the callback', () => {
  it('runs the same step, creates the sales order exactly once even when delivered twice, and links the traces', async () => {
    const [exception] = await exceptionsFor('SO-9001')
    if (!exception) throw new Error('no exception to replay')
    const request = {
      kind: 'replay',
      connector: 'order-to-cash',
      step: exception.step,
      payload: exception.payload,
      exceptionId: exception.id,
      original: { traceId: exception.traceId, spanId: exception.spanId },
    }
    const first = await callback('replay-1', request)
    expect(first.status).toBe(200)
    const outcome = (await first.json()) as { status: string; traceId: string; replayId: string }
    expect(outcome).toMatchObject({ status: 'succeeded', replayId: 'replay-1' })
    expect(outcome.traceId).not.toBe(exception.traceId)

    const again = await callback('replay-1', request)
    expect(await again.json()).toMatchObject({
      status: 'succeeded',
      traceId: outcome.traceId,
      repeated: true,
    })
    // A second replay id for the same unit of work still cannot create a second sales order.
    expect((await callback('replay-2', request)).status).toBe(200)
    expect(erp().salesOrdersFor('SO-9001')).toHaveLength(1)

    await connector().telemetry.flush()
    // Right after forceFlush the spans were once not all readable, under CI load: poll for the ERP call.
    const readTrace = async () =>
      (await (await fetch(`${fixture.sb.apiUrl}/api/traces/${outcome.traceId}`)).json()) as {
        spans: TraceSpan[]
      }
    const erpCallOk = (t: { spans: TraceSpan[] }) =>
      t.spans.some((s) => s.kind === 'client' && s.integration.system === 'erp' && s.status.code === 'ok')
    await expect.poll(async () => erpCallOk(await readTrace()), { timeout: 10_000 }).toBe(true)
    const trace = await readTrace()
    const root = trace.spans.find((s) => s.parentSpanId === null) as TraceSpan
    expect(root.name).toBe('sync order_to_cash.post_sales_order')
    expect(root.links).toEqual([
      {
        traceId: exception.traceId,
        spanId: exception.spanId,
        traceState: '',
        attributes: { 'signalbox.replay.id': 'replay-1' },
      },
    ])
    const events = (await (
      await fetch(`${fixture.sb.apiUrl}/api/events?subject=SO-9001&type=retail.order.erp_posted`)
    ).json()) as { events: Array<{ traceId: string }> }
    expect(events.events).toHaveLength(1)
  })

  it('accepts the rotated secret beside the current one', async () => {
    const res = await callback(
      'replay-rotated',
      { kind: 'replay', connector: 'order-to-cash', step: 'post_sales_order', payload: order('SO-9002') },
      NEXT_SECRET,
    )
    expect(res.status).toBe(200)
    expect(erp().salesOrdersFor('SO-9002')).toHaveLength(1)
  })
})

describe('callback signatures', () => {
  const request = {
    kind: 'replay',
    connector: 'order-to-cash',
    step: 'post_sales_order',
    payload: order('SO-9100'),
  }

  it('refuses a missing signature with 401 and runs nothing', async () => {
    const res = await fetch(callbackUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    })
    expect(res.status).toBe(401)
    expect(erp().salesOrdersFor('SO-9100')).toEqual([])
  })

  it('refuses a signature made with another secret', async () => {
    const wrong = `whsec_${Buffer.from('not the secret the connector knows').toString('base64')}`
    expect((await callback('sig-wrong', request, wrong)).status).toBe(401)
    expect(erp().salesOrdersFor('SO-9100')).toEqual([])
  })

  it('refuses a stale timestamp (older than 5 minutes)', async () => {
    expect((await callback('sig-stale', request, SECRET, new Date(Date.now() - 6 * 60_000))).status).toBe(401)
  })

  it('refuses a body changed after signing', async () => {
    const text = JSON.stringify(request)
    const headers = signCallback(SECRET, 'sig-tampered', text)
    const res = await fetch(callbackUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: text.replace('SO-9100', 'SO-9999'),
    })
    expect(res.status).toBe(401)
    expect(erp().salesOrdersFor('SO-9999')).toEqual([])
  })

  it('refuses a request signed for another connector with 403 and runs nothing: a captured replay cannot be sent on', async () => {
    const res = await callback('sig-elsewhere', { ...request, connector: 'pricing-sync' })
    expect(res.status).toBe(403)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('wrong_connector')
    // One naming no connector is malformed: a signature says nothing of where it was meant to go.
    const { connector: _, ...unaddressed } = request
    expect((await callback('sig-unaddressed', unaddressed)).status).toBe(400)
    expect(erp().salesOrdersFor('SO-9100')).toEqual([])
  })

  it('answers 404 for a step the connector does not have, and 400 for a malformed request', async () => {
    expect((await callback('sig-unknown', { ...request, step: 'post_invoice' })).status).toBe(404)
    expect((await callback('sig-bad', { kind: 'teleport' })).status).toBe(400)
  })
})

describe('the registry', () => {
  it('lists the connector with its callback and its runs', async () => {
    await connector().telemetry.flush()
    const read = async () =>
      (
        (await (await fetch(`${fixture.sb.apiUrl}/api/connectors`)).json()) as {
          connectors: Array<{
            id: string
            callbackUrl: string
            flows: string[]
            last24h: { runs: number; failures: number }
          }>
        }
      ).connectors.find((c) => c.id === 'order-to-cash')
    // Right after forceFlush the spans were once not all readable, under CI load: poll for the runs.
    await expect
      .poll(async () => (await read())?.last24h.failures ?? 0, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(2)
    const me = await read()
    expect(me).toMatchObject({ callbackUrl: callbackUrl(), flows: ['order_to_cash'] })
    expect(me?.last24h.failures).toBeGreaterThanOrEqual(2)
    expect(me?.last24h.runs).toBeGreaterThan(me?.last24h.failures ?? 0)
  })

  it('refuses a malformed registration or exception report with 400', async () => {
    const reg = await fetch(`${fixture.sb.apiUrl}/api/connectors`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'Bad Id!', system: 'x', flows: [], callbackUrl: 'ftp://x' }),
    })
    expect(reg.status).toBe(400)
    const exc = await fetch(`${fixture.sb.apiUrl}/api/exceptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ connector: 'x' }),
    })
    expect(exc.status).toBe(400)
    expect(((await exc.json()) as { error: { code: string } }).error.code).toBe('invalid_exception')
  })
})
