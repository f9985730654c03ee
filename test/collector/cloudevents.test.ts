import { CloudEvent, emitterFor, HTTP, httpTransport, Mode } from 'cloudevents'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

let sb: TestSignalbox
beforeAll(async () => {
  sb = await startSignalbox()
})
afterAll(async () => {
  await sb?.close()
})

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

function orderCreated(id: string, subject: string, time = '2026-11-20T09:15:00.123456789Z') {
  return new CloudEvent({
    specversion: '1.0',
    id,
    source: 'urn:signalbox:storefront',
    type: 'retail.order.created',
    subject,
    time,
    datacontenttype: 'application/json',
    data: { channel: 'web', total: 129.9, lines: [{ sku: 'SKU-1', qty: 2 }] },
    traceparent,
    connector: 'order-to-cash',
    skus: 'SKU-1',
  })
}

async function postBatch(events: CloudEvent<unknown>[]): Promise<Response> {
  return fetch(`${sb.collectorUrl}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents-batch+json' },
    body: JSON.stringify(events.map((e) => e.toJSON())),
  })
}

describe('CloudEvents through the official SDK', () => {
  it('takes binary, structured and batch mode, and stores the same event once', async () => {
    const event = orderCreated('evt-1', 'SO-2001')
    await emitterFor(httpTransport(`${sb.collectorUrl}/v1/events`), { mode: Mode.BINARY })(event)
    await emitterFor(httpTransport(`${sb.collectorUrl}/v1/events`), { mode: Mode.STRUCTURED })(event)
    const batch = await postBatch([event])
    expect(batch.status).toBe(200)
    expect(await batch.json()).toEqual({ accepted: 0, duplicates: 1 })

    const res = await fetch(`${sb.apiUrl}/api/events?subject=SO-2001`)
    const body = (await res.json()) as { events: Array<Record<string, unknown>> }
    expect(body.events).toHaveLength(1)
    expect(body.events[0]).toMatchObject({
      id: 'evt-1',
      source: 'urn:signalbox:storefront',
      type: 'retail.order.created',
      subject: 'SO-2001',
      // The SDK itself keeps milliseconds.
      time: '2026-11-20T09:15:00.123000000Z',
      data: { channel: 'web', total: 129.9, lines: [{ sku: 'SKU-1', qty: 2 }] },
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      integration: { connector: 'order-to-cash', flow: '', system: '' },
      entities: [{ type: 'order', id: 'SO-2001' }],
    })
    expect(await sb.count(TABLES.events)).toBe(1)
    const indexed = await sb.rows(
      sql`SELECT kind, name FROM ${table(TABLES.entityIndex)} WHERE entity_type = 'order' AND entity_id = 'SO-2001'`,
    )
    expect(indexed).toEqual([{ kind: 'event', name: 'retail.order.created' }])
  })

  it('deduplicates within one batch and against earlier batches, counting what it dropped', async () => {
    const a = orderCreated('evt-10', 'SO-2010')
    const b = orderCreated('evt-11', 'SO-2011')
    const first = await postBatch([a, a, b])
    expect(await first.json()).toEqual({ accepted: 2, duplicates: 1 })
    const second = await postBatch([b, orderCreated('evt-12', 'SO-2012')])
    expect(await second.json()).toEqual({ accepted: 1, duplicates: 1 })
    const rows = await sb.rows<{ id: string }>(
      sql`SELECT id FROM ${table(TABLES.events)} WHERE subject LIKE 'SO-201%' ORDER BY id`,
    )
    expect(rows.map((r) => r.id)).toEqual(['evt-10', 'evt-11', 'evt-12'])
  })

  it('keys an event by its source and id, checks every mode alike, and looks up many keys at once', async () => {
    const raw = (source: string, id: string) => ({
      specversion: '1.0',
      id,
      source,
      type: 'retail.order.created',
      subject: 'SO-2090',
      time: '2026-11-20T09:15:00Z',
    })
    const post = async (body: unknown, contentType = 'application/cloudevents-batch+json') => {
      const res = await fetch(`${sb.collectorUrl}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: JSON.stringify(body),
      })
      return { status: res.status, body: (await res.json()) as Record<string, unknown> }
    }
    // An id may hold any character; a source is a URI reference in every mode, as batch mode checks.
    const structured = 'application/cloudevents+json'
    expect((await post(raw('urn:a', 'b\u0000c'), structured)).status).toBe(200)
    const refused = await post(raw('urn:a\u0000b', 'c'), structured)
    expect(refused).toMatchObject({ status: 400, body: { error: { code: 'invalid_cloudevent' } } })
    expect(String((refused.body.error as { message: string }).message)).toMatch(
      /event\.source: must match format/,
    )
    // A retried bulk load: its 20,000 keys are looked up in the store at once.
    const bulk = Array.from({ length: 20_000 }, (_, i) =>
      raw('urn:signalbox:bulk', `${crypto.randomUUID()}-${i}`),
    )
    expect(await post(bulk)).toEqual({ status: 200, body: { accepted: 20_000, duplicates: 0 } })
    expect(await post([raw('urn:a', 'b\u0000c'), ...bulk])).toEqual({
      status: 200,
      body: { accepted: 0, duplicates: 20_001 },
    })
    const stored = await sb.rows<{ n: string }>(
      sql`SELECT count() AS n FROM ${table(TABLES.events)} WHERE source IN ('urn:a', 'urn:signalbox:bulk')`,
    )
    expect(Number(stored[0]?.n)).toBe(20_001)
  })

  it('keys inventory events by SKU and location from extensions or data', async () => {
    const adjusted = new CloudEvent({
      specversion: '1.0',
      id: 'inv-1',
      source: 'urn:signalbox:erp',
      type: 'retail.inventory.adjusted',
      time: '2026-11-20T10:00:00Z',
      data: { sku: 'SKU-77', location: 'DC-1', on_hand: 40, available: 35 },
    })
    const published = new CloudEvent({
      specversion: '1.0',
      id: 'inv-2',
      source: 'urn:signalbox:inventory-sync',
      type: 'retail.inventory.published',
      time: '2026-11-20T10:00:02Z',
      sku: 'SKU-77',
      locationid: 'DC-1',
      data: { channel: 'marketplace', quantity: 35 },
    })
    await postBatch([adjusted, published])
    const rows = await sb.rows<{ name: string; location: string }>(
      sql`SELECT name, location FROM ${table(TABLES.entityIndex)} WHERE entity_type = 'sku' AND entity_id = 'SKU-77' ORDER BY time`,
    )
    expect(rows).toEqual([
      { name: 'retail.inventory.adjusted', location: 'DC-1' },
      { name: 'retail.inventory.published', location: 'DC-1' },
    ])
  })

  it('filters the event list by type prefix and time range, newest first', async () => {
    const later = orderCreated('evt-30', 'SO-2030', '2026-11-21T08:00:00Z')
    const other = new CloudEvent({
      specversion: '1.0',
      id: 'evt-31',
      source: 'urn:x',
      type: 'retail.return.received',
      subject: 'RT-1',
      time: '2026-11-21T09:00:00Z',
    })
    await postBatch([later, other])
    const q = new URLSearchParams({
      type: 'retail.order.*',
      from: '2026-11-21T00:00:00Z',
      to: '2026-11-22T00:00:00Z',
    })
    const body = (await (await fetch(`${sb.apiUrl}/api/events?${q}`)).json()) as {
      events: Array<{ id: string }>
    }
    expect(body.events.map((e) => e.id)).toEqual(['evt-30'])
    const all = (await (await fetch(`${sb.apiUrl}/api/events?limit=2`)).json()) as {
      events: Array<{ id: string; time: string }>
    }
    expect(all.events).toHaveLength(2)
    expect(all.events[0]?.id).toBe('evt-31')
  })

  it("keeps a producer's nanosecond time exactly", async () => {
    const res = await fetch(`${sb.collectorUrl}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({
        specversion: '1.0',
        id: 'ns-1',
        source: 'urn:wms',
        type: 'retail.order.shipped',
        subject: 'SO-4000',
        time: '2026-11-20T11:00:00.000000042+01:00',
      }),
    })
    expect(res.status).toBe(200)
    const body = (await (await fetch(`${sb.apiUrl}/api/events?subject=SO-4000`)).json()) as {
      events: Array<{ time: string }>
    }
    expect(body.events[0]?.time).toBe('2026-11-20T10:00:00.000000042Z')
  })

  it('keeps the HTTP binding the SDK parses: a binary event with a non-JSON body', async () => {
    const message = HTTP.binary(
      new CloudEvent({
        specversion: '1.0',
        id: 'txt-1',
        source: 'urn:pos:store-7',
        type: 'retail.order.picked_up',
        subject: 'SO-3000',
        datacontenttype: 'text/plain',
        data: 'picked up at till 3',
      }),
    )
    const res = await fetch(`${sb.collectorUrl}/v1/events`, {
      method: 'POST',
      headers: message.headers as Record<string, string>,
      body: message.body as string,
    })
    expect(res.status).toBe(200)
    const body = (await (await fetch(`${sb.apiUrl}/api/events?subject=SO-3000`)).json()) as {
      events: Array<{ data: unknown }>
    }
    expect(body.events[0]?.data).toBe('picked up at till 3')
  })

  it('reads binary-mode attributes percent-decoded, as the HTTP binding encodes them', async () => {
    const send = (subject: string, id: string) =>
      fetch(`${sb.collectorUrl}/v1/events`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'ce-specversion': '1.0',
          'ce-id': id,
          'ce-source': 'urn:pos:store-7',
          'ce-type': 'retail.order.created',
          'ce-subject': subject,
        },
        body: '{}',
      })
    expect((await send('SO-3200%20caf%C3%A9', 'pct-1')).status).toBe(200)
    const [stored] = await sb.rows<{ subject: string }>(
      sql`SELECT subject FROM ${table(TABLES.events)} WHERE id = 'pct-1'`,
    )
    expect(stored?.subject).toBe('SO-3200 café')
    // A literal % (the JS SDK sends values unencoded) is kept as it came.
    expect((await send('50%off', 'pct-2')).status).toBe(200)
    const [literal] = await sb.rows<{ subject: string }>(
      sql`SELECT subject FROM ${table(TABLES.events)} WHERE id = 'pct-2'`,
    )
    expect(literal?.subject).toBe('50%off')
  })

  it('keeps binary data as sent: data_base64 and a binary-mode body that is not text, both base64', async () => {
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x80, 0x41])
    // A binary-mode body in a non-text media type: its bytes, not their UTF-8 reading.
    const binary = await fetch(`${sb.collectorUrl}/v1/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/octet-stream',
        'ce-specversion': '1.0',
        'ce-id': 'bin-1',
        'ce-source': 'urn:pos:store-7',
        'ce-type': 'retail.receipt.scanned',
        'ce-subject': 'SO-3100',
      },
      body: bytes,
    })
    expect(binary.status).toBe(200)
    // A large data_base64 is taken as the text it is, not walked byte by byte.
    const large = crypto.getRandomValues(new Uint8Array(60_000))
    const structured = await fetch(`${sb.collectorUrl}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({
        specversion: '1.0',
        id: 'bin-2',
        source: 'urn:pos:store-7',
        type: 'retail.receipt.scanned',
        subject: 'SO-3101',
        datacontenttype: 'image/png',
        data_base64: Buffer.from(large).toString('base64'),
      }),
    })
    expect(structured.status).toBe(200)
    const stored = await sb.rows<{ id: string; data: string }>(
      sql`SELECT id, data FROM ${table(TABLES.events)} WHERE id IN ('bin-1', 'bin-2') ORDER BY id`,
    )
    expect(stored).toEqual([
      { id: 'bin-1', data: bytes.toString('base64') },
      { id: 'bin-2', data: Buffer.from(large).toString('base64') },
    ])
  })

  it('refuses data and data_base64 together, and an extension that is not a string, number or boolean', async () => {
    const base = { specversion: '1.0', source: 'urn:pos:store-7', type: 'retail.order.created' }
    const json = (o: object) => JSON.stringify(o)
    // Nested 20,000 deep: written as text (JSON.stringify itself would run out of stack).
    const deep = `${json({ ...base, id: 'ext-2' }).slice(0, -1)},"nested":${'{"d":'.repeat(20_000)}"x"${'}'.repeat(20_000)}}`
    const cases = {
      both: json({ ...base, id: 'both-1', data: { a: 1 }, data_base64: 'AAEC' }),
      object: json({ ...base, id: 'ext-1', shipment: { carrier: 'dhl' } }),
      deep,
    }
    for (const [what, body] of Object.entries(cases)) {
      const res = await fetch(`${sb.collectorUrl}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body,
      })
      expect(res.status, what).toBe(400)
      const { error } = (await res.json()) as { error: { code: string; message: string } }
      expect(error.code, what).toBe('invalid_cloudevent')
    }
    const stored = await sb.rows(
      sql`SELECT id FROM ${table(TABLES.events)} WHERE id IN ('both-1', 'ext-1', 'ext-2')`,
    )
    expect(stored).toEqual([])
  })

  it('reads the mode from the media type alone: any case, with parameters, whatever ce-* headers say', async () => {
    const send = (contentType: string, id: string, extra: Record<string, string> = {}) =>
      fetch(`${sb.collectorUrl}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': contentType, ...extra },
        body: JSON.stringify(orderCreated(id, `SO-50${id.slice(-2)}`).toJSON()),
      })
    expect((await send('Application/CloudEvents+JSON', 'case-01')).status).toBe(200)
    expect((await send('application/cloudevents+json; charset=UTF-8', 'case-02')).status).toBe(200)
    // Structured mode with stray ce-* headers: the body is the event (HTTP binding 3.1).
    const stray = { 'ce-specversion': '1.0', 'ce-id': 'header-id', 'ce-source': 'urn:x', 'ce-type': 'x.y' }
    expect((await send('application/cloudevents+json', 'case-03', stray)).status).toBe(200)
    const rows = await sb.rows<{ id: string }>(
      sql`SELECT id FROM ${table(TABLES.events)} WHERE id LIKE 'case-%' OR id = 'header-id' ORDER BY id`,
    )
    expect(rows.map((r) => r.id)).toEqual(['case-01', 'case-02', 'case-03'])
  })
})
