import { CloudEvent, emitterFor, httpTransport, Mode } from 'cloudevents'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { POS_SOURCE, PosReservations } from '../../connectors/estate/pos-reservations.ts'
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

const POINTS = 'shop.loyalty.points_earned'
const pointsV1 = {
  type: 'object',
  properties: { member: { type: 'string' }, points: { type: 'integer', minimum: 0 } },
  required: ['member', 'points'],
}
const pointsV2 = {
  ...pointsV1,
  properties: { ...pointsV1.properties, tier: { type: 'string', enum: ['silver', 'gold'] } },
  required: ['member', 'points', 'tier'],
}

function event(type: string, id: string, data: unknown, more: Record<string, string> = {}) {
  return new CloudEvent({
    specversion: '1.0',
    id,
    source: 'urn:test:storefront',
    type,
    subject: id,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data,
    ...more,
  })
}

const postBatch = (events: CloudEvent<unknown>[]) =>
  fetch(`${sb.collectorUrl}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents-batch+json' },
    body: JSON.stringify(events.map((e) => e.toJSON())),
  })

const register = (body: unknown) =>
  fetch(`${sb.apiUrl}/api/event-types`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

const storedOf = async (type: string) =>
  (
    await sb.rows<{ id: string }>(
      sql`SELECT id FROM ${table(TABLES.events)} WHERE type = ${type} ORDER BY id`,
    )
  ).map((r) => r.id)

describe('event contracts at the collector (CloudEvents SDK as the client)', () => {
  it('warn: stores an event that breaks its contract, counts it in /metrics and shows it in the api with an example', async () => {
    const broken = event('retail.order.created', 'SO-C1', { channel: 'web', total: 10 })
    const send = emitterFor(httpTransport(`${sb.collectorUrl}/v1/events`), { mode: Mode.STRUCTURED })
    await send(broken)
    await send(broken) // a retry: stored once, and its violation counted once
    expect(await storedOf('retail.order.created')).toEqual(['SO-C1'])

    const metrics = await (await fetch(`${sb.collectorUrl}/metrics`)).text()
    expect(metrics).toContain(
      'signalbox_collector_contract_violations_total{type="retail.order.created",version="1",source="urn:test:storefront",outcome="stored"} 1',
    )
    const res = await fetch(`${sb.apiUrl}/api/event-contracts/violations?type=retail.order.created`)
    expect(res.status).toBe(200)
    const body = (await res.json()) as { violations: Array<Record<string, unknown>> }
    expect(body.violations).toEqual([
      expect.objectContaining({
        type: 'retail.order.created',
        version: '1',
        source: 'urn:test:storefront',
        path: '$.lines',
        message: 'is required',
        policy: 'warn',
        count: 1,
        example: { eventId: 'SO-C1', data: { channel: 'web', total: 10 } },
      }),
    ])
  })

  it('registers a contract through the api, refuses one that is unsafe or changes a known version', async () => {
    const created = await register({ type: POINTS, version: '1', schema: pointsV1, policy: 'reject' })
    expect(created.status).toBe(201)
    expect(await register({ type: POINTS, version: '1', schema: pointsV1 })).toHaveProperty('status', 200)
    const changed = await register({ type: POINTS, version: '1', schema: pointsV2 })
    expect(changed.status).toBe(409)
    expect(((await changed.json()) as { error: { message: string } }).error.message).toMatch(/immutable/)
    const hostile = await register({
      type: POINTS,
      version: '9',
      schema: { type: 'object', properties: { member: { type: 'string', pattern: '^(a+)+$' } } },
    })
    expect(hostile.status).toBe(400)
    expect(((await hostile.json()) as { error: { message: string } }).error.message).toMatch(
      /nests quantifiers/,
    )
    const shipped = await register({ type: 'retail.order.created', version: '1', schema: pointsV1 })
    expect(shipped.status).toBe(409)

    const v2 = await register({ type: POINTS, version: '2', schema: pointsV2 })
    expect(v2.status).toBe(201)
    // Adding a required field is compatible for consumers; the answer says so against version 1.
    expect(await v2.json()).toMatchObject({
      policy: 'reject',
      compatibility: {
        against: '1',
        compatible: true,
        changes: [{ kind: 'required_field_added', path: '$.tier' }],
      },
    })
    const listed = (await (await fetch(`${sb.apiUrl}/api/event-types`)).json()) as {
      types: Array<{ type: string; policy: string; latest: string; versions: Array<{ version: string }> }>
    }
    expect(listed.types.find((t) => t.type === POINTS)).toMatchObject({
      policy: 'reject',
      latest: '2',
      versions: [{ version: '1' }, { version: '2' }],
    })
    expect(listed.types.map((t) => t.type)).toContain('retail.inventory.adjusted')
  })

  it('reject: refuses the whole request naming the path that broke, and writes no event', async () => {
    await sb.collector?.contracts.refresh()
    const good = event(POINTS, 'P-1', { member: 'M-1', points: 5, tier: 'gold' })
    const bad = event(POINTS, 'P-2', { member: 'M-2', points: -3, tier: 'gold' })
    const refused = await postBatch([good, bad])
    expect(refused.status).toBe(400)
    const error = ((await refused.json()) as { error: { code: string; message: string } }).error
    expect(error.code).toBe('contract_violation')
    expect(error.message).toBe(
      `events[1] (source 'urn:test:storefront', id 'P-2'): data.points must be >= 0 (contract ${POINTS} version 2)`,
    )
    expect(await storedOf(POINTS)).toEqual([])

    // Undeclared, an event is held to the latest version; declared, to its own.
    const noTier = { member: 'M-3', points: 1 }
    expect((await postBatch([event(POINTS, 'P-3', noTier)])).status).toBe(400)
    const bySchema = event(POINTS, 'P-3', noTier, {
      dataschema: `https://contracts.example/events/${POINTS}/1.json`,
    })
    expect((await postBatch([bySchema])).status).toBe(200)
    const byExtension = event(POINTS, 'P-4', noTier, { dataversion: '1' })
    await emitterFor(httpTransport(`${sb.collectorUrl}/v1/events`), { mode: Mode.BINARY })(byExtension)
    const unknown = await postBatch([event(POINTS, 'P-5', noTier, { dataversion: '7' })])
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toContain(
      `data version 7 of ${POINTS} is not registered (registered: 1, 2)`,
    )
    // JSON sent as bytes is still JSON to its contract.
    const asBytes = (id: string, data: unknown) =>
      fetch(`${sb.collectorUrl}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify({
          ...event(POINTS, id, null).toJSON(),
          data: undefined,
          data_base64: Buffer.from(JSON.stringify(data)).toString('base64'),
        }),
      })
    expect((await asBytes('P-8', { member: 'M-8', points: 2, tier: 'gold' })).status).toBe(200)
    expect((await asBytes('P-9', { member: 'M-9', points: -2, tier: 'gold' })).status).toBe(400)
    expect(await storedOf(POINTS)).toEqual(['P-3', 'P-4', 'P-8'])
    // Versions a sender makes up are counted under one label, however many it makes up.
    for (const made of ['8.0.1-hostile', 'x'.repeat(300)])
      expect((await postBatch([event(POINTS, 'P-6', noTier, { dataversion: made })])).status).toBe(400)

    const metrics = await (await fetch(`${sb.collectorUrl}/metrics`)).text()
    expect(metrics).toContain(
      `signalbox_collector_contract_violations_total{type="${POINTS}",version="2",source="urn:test:storefront",outcome="rejected"} 3`,
    )
    expect(metrics).toContain(
      `signalbox_collector_contract_violations_total{type="${POINTS}",version="unregistered",source="urn:test:storefront",outcome="rejected"} 3`,
    )
    expect(metrics).not.toMatch(/version="(7|8\.0\.1-hostile|x+)"/)
    // The refusals are recorded (P-2, and P-9 sent as bytes), without the data that was refused.
    const { violations } = (await (
      await fetch(`${sb.apiUrl}/api/event-contracts/violations?type=${POINTS}`)
    ).json()) as { violations: Array<{ version: string; path: string; count: number; example: unknown }> }
    expect(violations.find((v) => v.path === '$.points')).toMatchObject({
      version: '2',
      count: 2,
      example: { eventId: 'P-9', data: null },
    })
  })

  it('says whether a version is backward compatible for consumers', async () => {
    const res = await fetch(`${sb.apiUrl}/api/event-types/${POINTS}/diff?from=2&to=1`)
    expect(await res.json()).toMatchObject({
      compatible: false,
      changes: [{ path: '$.tier', kind: 'field_removed', breaking: true }],
    })
    expect((await fetch(`${sb.apiUrl}/api/event-types/${POINTS}/diff?from=1&to=5`)).status).toBe(404)
  })

  it('the demo’s store till now and then breaks the inventory reservation contract, and the page has it to show', async () => {
    const pos = new PosReservations(sb.collectorUrl)
    for (let i = 0; i < 4; i++) await pos.reserveAny()
    const stored = await sb.rows<{ n: string }>(
      sql`SELECT count() AS n FROM ${table(TABLES.events)} WHERE source = ${POS_SOURCE}`,
    )
    expect(Number(stored[0]?.n)).toBe(4)
    const { violations } = (await (
      await fetch(`${sb.apiUrl}/api/event-contracts/violations?source=${encodeURIComponent(POS_SOURCE)}`)
    ).json()) as { violations: Array<Record<string, unknown>> }
    expect(violations).toEqual([
      expect.objectContaining({
        type: 'retail.inventory.reserved',
        path: '$.quantity',
        message: 'must be integer',
        count: 1,
        example: expect.objectContaining({ data: expect.objectContaining({ quantity: expect.any(String) }) }),
      }),
    ])
  })
})
