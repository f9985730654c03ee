import { SpanKind } from '@opentelemetry/api'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import { readableSpan } from '../support/readable-span.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

let sb: TestSignalbox
beforeAll(async () => {
  sb = await startSignalbox()
})
afterAll(async () => {
  await sb?.close()
})

// Planted personal data, one of each kind.
const EMAIL = 'jane.doe@example.com'
const PHONE = '+44 20 7946 0958'
const CARD = '4111 1111 1111 1111'
const IBAN = 'DE89 3704 0044 0532 0130 00'
const NAME = 'Jane Doe'
const STREET = '221B Baker Street'
const PLANTED = [EMAIL, PHONE, CARD, IBAN, NAME, STREET, '4111111111111111']
// A business key that happens to pass the Luhn check stays as it is.
const ORDER = '4012888888881881'

async function post(path: string, type: string, body: BodyInit) {
  const res = await fetch(`${sb.collectorUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': type },
    body,
  })
  expect(res.status, await res.clone().text()).toBe(200)
}

describe('personal data at the collector', () => {
  beforeAll(async () => {
    const span = readableSpan({
      traceId: 'ab'.repeat(16),
      spanId: 'cd'.repeat(8),
      name: 'sync order_to_cash.capture',
      kind: SpanKind.CONSUMER,
      startMs: Date.now() - 60_000,
      durationMs: 5,
      resource: resourceFromAttributes({ 'service.name': 'privacy-test' }),
      attributes: {
        'retail.order.id': ORDER,
        'customer.email': EMAIL,
        'customer.phone': '020 7946 0958',
        'customer.name': NAME,
        note: `call ${PHONE}, card ${CARD}, refund to ${IBAN}`,
      },
      error: `payment declined for ${EMAIL}`,
      events: [{ name: 'retry', offsetMs: 1, attributes: { 'customer.email': EMAIL } }],
    })
    await post(
      '/v1/traces',
      'application/x-protobuf',
      ProtobufTraceSerializer.serializeRequest([span]) as BodyInit,
    )
    const nowNs = `${BigInt(Date.now() - 60_000) * 1_000_000n}`
    await post(
      '/v1/logs',
      'application/json',
      JSON.stringify({
        resourceLogs: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'privacy-test' } }] },
            scopeLogs: [
              {
                logRecords: [
                  {
                    timeUnixNano: nowNs,
                    body: { stringValue: `order SO-1042 for ${EMAIL} paid with ${CARD}` },
                    attributes: [{ key: 'customer.name', value: { stringValue: NAME } }],
                  },
                ],
              },
            ],
          },
        ],
      }),
    )
    await post(
      '/v1/events',
      'application/cloudevents+json',
      JSON.stringify({
        specversion: '1.0',
        id: 'privacy-1',
        source: 'urn:privacy-test',
        type: 'retail.order.created',
        subject: ORDER,
        time: new Date(Date.now() - 60_000).toISOString(),
        data: {
          customer: { email: EMAIL, name: NAME, address: { line1: STREET, city: 'London' } },
          note: `IBAN ${IBAN}`,
        },
      }),
    )
    const res = await fetch(`${sb.apiUrl}/api/exceptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        connector: 'privacy-test',
        flow: 'order_to_cash',
        step: 'capture',
        entity: { type: 'order', id: ORDER },
        payload: { orderId: ORDER, customer: { email: EMAIL, phone: PHONE, name: NAME }, card: CARD },
        error: { class: 'payment.declined', message: `declined for ${EMAIL}` },
        attempts: 1,
        traceId: 'ab'.repeat(16),
        spanId: 'cd'.repeat(8),
      }),
    })
    expect(res.status).toBe(201)
  })

  it('stores no planted value in spans, logs, events or exception payloads (read from the store)', async () => {
    const dump = async (q: ReturnType<typeof sql>) => JSON.stringify(await sb.rows(q))
    const stored = [
      await dump(
        sql`SELECT attributes, status_message, events FROM ${table(TABLES.spans)} WHERE service_name = 'privacy-test'`,
      ),
      await dump(sql`SELECT body, attributes FROM ${table(TABLES.logs)}`),
      await dump(
        sql`SELECT subject, data, extensions FROM ${table(TABLES.events)} WHERE source = 'urn:privacy-test'`,
      ),
      await dump(
        sql`SELECT payload, error_message FROM ${table(TABLES.exceptions)} WHERE connector = 'privacy-test'`,
      ),
    ]
    for (const text of stored) {
      expect(text.length).toBeGreaterThan(20)
      for (const secret of PLANTED) expect(text).not.toContain(secret)
    }
    // Business keys are kept: under their own keys even when they look like a card number; in free
    // text only when they do not (a Luhn-valid number there is treated as a card).
    for (const keyed of [stored[0], stored[2], stored[3]]) expect(keyed).toContain(ORDER)
    expect(stored[1]).toContain('SO-1042')
    expect(stored.join()).toMatch(/hmac:[0-9a-f]{32}/)
    expect(stored[0]).toContain('[redacted:card]')
    expect(stored[0]).toContain('[redacted:iban]')
    expect(stored[0]).toContain('[redacted:phone]')
    expect(stored[2]).toContain('[redacted:address]')
  })

  it('counts redactions by kind in /metrics', async () => {
    const metrics = await (await fetch(`${sb.collectorUrl}/metrics`)).text()
    for (const kind of ['key', 'email', 'phone', 'card', 'iban'])
      expect(metrics).toMatch(new RegExp(`signalbox_collector_redactions_total\\{kind="${kind}"\\} [1-9]`))
  })

  it('applies the rules of each source on top of the global ones', async () => {
    const LOYALTY = 'LOY-88812345'
    const spanFrom = (service: string, n: number) =>
      readableSpan({
        traceId: `${n}`.padStart(32, '0'),
        spanId: `${n}`.padStart(16, '0'),
        name: 'sync crm.upsert_customer',
        kind: SpanKind.CONSUMER,
        startMs: Date.now() - 30_000,
        durationMs: 3,
        resource: resourceFromAttributes({ 'service.name': service }),
        attributes: { loyalty_number: LOYALTY, 'retail.order.id': ORDER },
      })
    await post(
      '/v1/traces',
      'application/x-protobuf',
      ProtobufTraceSerializer.serializeRequest([spanFrom('crm', 1), spanFrom('privacy-test', 2)]) as BodyInit,
    )
    await post(
      '/v1/events',
      'application/cloudevents+json',
      JSON.stringify({
        specversion: '1.0',
        id: 'privacy-crm-1',
        source: 'urn:crm:eu',
        type: 'retail.order.created',
        subject: ORDER,
        time: new Date(Date.now() - 30_000).toISOString(),
        data: { loyalty_number: LOYALTY },
      }),
    )
    const loyalty = async (q: ReturnType<typeof sql>) => JSON.stringify(await sb.rows(q))
    await expect
      .poll(() =>
        loyalty(
          sql`SELECT service_name, attributes FROM ${table(TABLES.spans)} WHERE name = 'sync crm.upsert_customer' ORDER BY service_name`,
        ),
      )
      .toMatch(/crm.*redacted:loyalty_number.*privacy-test.*LOY-88812345/)
    const event = await loyalty(sql`SELECT data FROM ${table(TABLES.events)} WHERE source = 'urn:crm:eu'`)
    expect(event).toContain('[redacted:loyalty_number]')
    expect(event).not.toContain(LOYALTY)
  })

  it("finds the customer's order by e-mail, through the keyed hash", async () => {
    const res = await fetch(`${sb.apiUrl}/api/search?q=${encodeURIComponent(' Jane.Doe@Example.com ')}`)
    const body = (await res.json()) as { results: Array<{ kind: string; id: string }> }
    expect(body.results).toContainEqual(expect.objectContaining({ kind: 'order', id: ORDER }))
  })
})
