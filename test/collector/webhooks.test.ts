import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createToken } from '../../auth/tokens.ts'
import { signBody } from '../../collector/webhooks/signature.ts'
import { createLogger } from '../../core/logger.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

/**
 * Shopify's own webhooks, posted as Shopify posts them (raw JSON body, X-Shopify-* headers, HMAC-SHA256
 * of the body in base64), into the all-in-one on the embedded engine, with the shipped webhooks.yaml.
 * Authentication is on: the platform carries no ingestion key, its signature stands for one.
 */
const SECRET = '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'
const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, '../fixtures/shopify', `${name}.json`), 'utf8')
// The fixtures' dates, moved to yesterday: events must fall in the retained window whenever this runs.
const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)
const recent = (body: string) => body.replaceAll(/2026-1[12]-\d\d/g, yesterday)

let sb: TestSignalbox
/** Every log line, at the most detailed level: no secret, signature or customer data may be in one. */
const logLines: string[] = []
const capture = new Writable({
  write(chunk, _encoding, done) {
    logLines.push(String(chunk))
    done()
  },
})
/** Signatures sent in this run. */
const signatures: string[] = []
/** A support person's token, for the api's reads. */
let support = ''
beforeAll(async () => {
  process.env.SIGNALBOX_WEBHOOK_SECRET_SHOPIFY = SECRET
  // The generic source's secret is left unset: it must refuse deliveries rather than take them unsigned.
  delete process.env.SIGNALBOX_WEBHOOK_SECRET_GENERIC
  sb = await startSignalbox({ SIGNALBOX_AUTH: 'tokens' }, createLogger('trace', capture))
  support = (
    await createToken(sb.store, { name: 'support', kind: 'personal', role: 'support', createdBy: 'test' })
  ).token
}, 60_000)
afterAll(async () => {
  delete process.env.SIGNALBOX_WEBHOOK_SECRET_SHOPIFY
  await sb?.close()
})

function deliver(
  topic: string,
  body: string,
  {
    id = crypto.randomUUID() as string,
    signature = signBody(body, SECRET),
    source = 'shopify',
  }: { id?: string; signature?: string; source?: string } = {},
) {
  signatures.push(signature)
  return fetch(`${sb.collectorUrl}/v1/webhooks/${source}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-shopify-topic': topic,
      'x-shopify-hmac-sha256': signature,
      'x-shopify-shop-domain': 'acme-outdoor.myshopify.com',
      'x-shopify-api-version': '2025-10',
      'x-shopify-webhook-id': id,
      'x-shopify-triggered-at': new Date().toISOString(),
    },
    body,
  })
}

interface StoredEvent {
  id: string
  source: string
  type: string
  subject: string
  time: string
  data: Record<string, unknown>
  extensions: Record<string, string>
}
const read = (path: string) =>
  fetch(`${sb.apiUrl}${path}`, { headers: { authorization: `Bearer ${support}` } })
const events = async (subject: string) =>
  ((await (await read(`/api/events?subject=${subject}`)).json()) as { events: StoredEvent[] }).events
const unmapped = async () =>
  (
    (await (await read('/api/webhooks/unmapped?source=shopify')).json()) as {
      webhooks: Array<{
        topic: string
        webhookId: string
        reason: string
        payload: unknown
        payloadBytes: number
      }>
    }
  ).webhooks
const rows = async (table: string) => sb.count(table)

describe('POST /v1/webhooks/shopify', () => {
  it('maps orders/create to retail.order.created, the webhook id as the event id, stored once however often Shopify retries', async () => {
    const body = recent(fixture('orders-create'))
    const id = 'b54557e4-bdd9-4b37-8a5f-bf7d70fcd043'
    const res = await deliver('orders/create', body, { id })
    expect(res.status).toBe(202)
    expect(await res.json()).toMatchObject({
      accepted: 1,
      duplicates: 0,
      event: {
        source: 'urn:signalbox:webhook:shopify',
        id,
        type: 'retail.order.created',
        subject: '5712345678901',
      },
    })
    const [event] = await events('5712345678901')
    expect(event).toMatchObject({
      id,
      source: 'urn:signalbox:webhook:shopify',
      type: 'retail.order.created',
      time: `${yesterday}T15:14:03.000000000Z`,
      extensions: { channel: 'web', webhooksource: 'shopify', webhooktopic: 'orders/create' },
      data: {
        orderNumber: '#1042',
        currency: 'USD',
        total: 135.16,
        financialStatus: 'paid',
        lines: [
          { sku: 'TR2-42-SLT', quantity: 1, price: 98 },
          { sku: 'MHS-L', quantity: 2, price: 13 },
        ],
      },
    })

    // Shopify delivers again (it did not see the answer): the same X-Shopify-Webhook-Id, stored once.
    const again = await deliver('orders/create', body, { id })
    expect(await again.json()).toMatchObject({ accepted: 0, duplicates: 1 })
    expect(await events('5712345678901')).toHaveLength(1)

    const lifecycle = (await (await read('/api/orders/5712345678901/lifecycle')).json()) as {
      stages: Array<{ name: string; status: string }>
    }
    expect(lifecycle.stages[0]).toMatchObject({ name: 'captured', status: 'done' })
  })

  it('holds a mapped event to its type’s contract like a posted one: stored and counted once under warn', async () => {
    const order = JSON.parse(recent(fixture('orders-create'))) as Record<string, unknown>
    // An order without lines breaks retail.order.created's contract (`lines` has at least one item).
    const body = JSON.stringify({
      ...order,
      admin_graphql_api_id: 'gid://shopify/Order/5712345670000',
      line_items: [],
    })
    const id = crypto.randomUUID()
    expect((await deliver('orders/create', body, { id })).status).toBe(202)
    expect(await (await deliver('orders/create', body, { id })).json()).toMatchObject({ duplicates: 1 })
    expect(await events('5712345670000')).toHaveLength(1)
    const { violations } = (await (
      await read('/api/event-contracts/violations?type=retail.order.created')
    ).json()) as { violations: Array<{ source: string; path: string; count: number }> }
    expect(violations.filter((v) => v.source === 'urn:signalbox:webhook:shopify')).toEqual([
      expect.objectContaining({
        path: '$.lines',
        count: 1,
        example: expect.objectContaining({ data: expect.anything() }),
      }),
    ])
    // A viewer sees the violation, not the event's data: events are for support and up.
    const viewer = (
      await createToken(sb.store, { name: 'wallboard', kind: 'personal', role: 'viewer', createdBy: 'test' })
    ).token
    const seen = (await (
      await fetch(`${sb.apiUrl}/api/event-contracts/violations?type=retail.order.created`, {
        headers: { authorization: `Bearer ${viewer}` },
      })
    ).json()) as { violations: Array<{ source: string; example: unknown }> }
    const mine = seen.violations.filter((v) => v.source === 'urn:signalbox:webhook:shopify')
    expect(mine).toHaveLength(1)
    expect(mine[0]?.example).toBeNull()
  })

  it('counts a redaction in a mapped event once, its contract broken or not', async () => {
    const emails = async () => {
      const res = await fetch(`${sb.collectorUrl}/metrics`, {
        headers: { authorization: `Bearer ${support}` },
      })
      const text = await res.text()
      return Number(/signalbox_collector_redactions_total\{kind="email"\} (\d+)/.exec(text)?.[1] ?? 0)
    }
    const order = JSON.parse(recent(fixture('orders-create'))) as Record<string, unknown>
    // The order's name (its data's orderNumber) holds an address; without lines it breaks the contract.
    const body = JSON.stringify({
      ...order,
      name: '#1042 jane.doe@example.com',
      admin_graphql_api_id: 'gid://shopify/Order/5712345670001',
      line_items: [],
    })
    const before = await emails()
    expect((await deliver('orders/create', body)).status).toBe(202)
    expect(await emails()).toBe(before + 1)
    const [stored] = await events('5712345670001')
    expect(stored?.data.orderNumber).not.toContain('jane.doe@example.com')
  })

  it('maps orders/fulfilled to retail.order.shipped and refunds/create to the return’s refund_issued', async () => {
    const shipped = await deliver('orders/fulfilled', recent(fixture('orders-fulfilled')))
    expect(await shipped.json()).toMatchObject({ accepted: 1, event: { type: 'retail.order.shipped' } })
    const refunded = await deliver('refunds/create', recent(fixture('refunds-create')))
    expect(await refunded.json()).toMatchObject({
      accepted: 1,
      event: { type: 'retail.return.refund_issued' },
    })

    const order = await events('5712345678901')
    expect(order.find((e) => e.type === 'retail.order.shipped')).toMatchObject({
      extensions: { shipmentid: '5312345678901' },
      data: { carrier: 'UPS', trackingNumber: '1Z999AA10123456784' },
    })
    const [refund] = await events('2212345678901')
    expect(refund).toMatchObject({
      type: 'retail.return.refund_issued',
      extensions: { orderid: '5712345678901' },
      data: { refundId: '9812345678901', amount: 106.82, currency: 'USD', restock: true },
    })
    expect(refund?.data.lines).toEqual([
      { sku: 'TR2-42-SLT', quantity: 1, restockType: 'return', subtotal: 98 },
    ])
  })

  it('refuses a delivery whose signature does not match with 401 and writes nothing', async () => {
    const body = recent(fixture('orders-create')).replace('"total_price": "135.16"', '"total_price": "0.01"')
    const before = [await rows('business_events'), await rows('unmapped_webhooks')]
    const forged = [
      signBody(fixture('orders-create'), SECRET), // the signature of another body
      signBody(body, 'not-the-secret'),
      signBody(body, SECRET, 'hex'), // the right HMAC in the wrong encoding
      '',
    ]
    for (const signature of forged) {
      const res = await deliver('orders/create', body, { signature })
      expect(res.status).toBe(401)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_signature')
    }
    expect([await rows('business_events'), await rows('unmapped_webhooks')]).toEqual(before)
  })

  it('keeps a signed delivery no mapping can read, with its reason, redacted, visible through the api', async () => {
    const noMapping = await deliver('orders/paid', recent(fixture('orders-create')), { id: 'paid-1' })
    expect(noMapping.status).toBe(202)
    expect(await noMapping.json()).toMatchObject({
      accepted: 0,
      unmapped: { reason: "no mapping for topic 'orders/paid'" },
    })

    // A shape the mapping does not expect (no admin_graphql_api_id): no subject, so no event.
    const order = JSON.parse(recent(fixture('orders-create'))) as Record<string, unknown>
    delete order.admin_graphql_api_id
    const misshapen = await deliver('orders/create', JSON.stringify(order), { id: 'misshapen-1' })
    expect(await misshapen.json()).toMatchObject({ accepted: 0, unmapped: { webhookId: 'misshapen-1' } })

    const notJson = await deliver('orders/create', '<order id="1"/>', { id: 'xml-1' })
    expect(await notJson.json()).toMatchObject({ accepted: 0 })

    const kept = await unmapped()
    const byId = new Map(kept.map((w) => [w.webhookId, w]))
    expect(byId.get('paid-1')).toMatchObject({
      topic: 'orders/paid',
      reason: "no mapping for topic 'orders/paid'",
    })
    expect(byId.get('misshapen-1')?.reason).toMatch(/^the mapping gave no valid event: subject/)
    expect(byId.get('xml-1')?.reason).toBe('the body is not JSON')
    // Kept to fix the mapping from, without the customer's personal data.
    const payload = byId.get('paid-1')?.payload as { name: string; line_items: unknown[] }
    expect(payload.name).toBe('#1042')
    expect(payload.line_items).toHaveLength(2)
    expect(JSON.stringify(kept)).not.toContain('jon.smith@example.com')
    expect(JSON.stringify(kept)).not.toContain('123 Elm St.')
    expect(await events('misshapen-1')).toEqual([])
    // The api's list is no open door: it takes a token like every read.
    expect((await fetch(`${sb.apiUrl}/api/webhooks/unmapped`)).status).toBe(401)
  })

  it('answers 404 for a source not configured and 503 for one whose secret is not set', async () => {
    const body = JSON.stringify({ type: 'retail.order.created', subject: 'SO-1' })
    expect((await deliver('x', body, { source: 'woocommerce' })).status).toBe(404)
    const generic = await deliver('x', body, { source: 'generic' })
    expect(generic.status).toBe(503)
    const said = ((await generic.json()) as { error: { message: string } }).error.message
    expect(said).toContain('SIGNALBOX_WEBHOOK_SECRET_GENERIC')
    expect(said).not.toContain(SECRET)
  })

  it('never logs the secret, a signature or the customer’s data', () => {
    expect(logLines.some((l) => l.includes('webhook refused'))).toBe(true)
    expect(logLines.some((l) => l.includes('webhook kept unmapped'))).toBe(true)
    const logged = logLines.join('')
    expect(logged).not.toContain(SECRET)
    for (const signature of signatures.filter((s) => s.length > 0)) expect(logged).not.toContain(signature)
    expect(logged).not.toContain('jon.smith@example.com')
    expect(logged).not.toContain('123 Elm St.')
  })
})
