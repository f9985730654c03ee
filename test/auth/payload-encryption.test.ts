import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createToken } from '../../auth/tokens.ts'
import { ConfigError } from '../../core/errors.ts'
import { MASK, newKey, PayloadVault, parseKeyRing } from '../../core/payload-vault.ts'
import { rewriteExceptionPayloads } from '../../store/queries/exceptions.ts'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

const K1 = newKey('k1')
const K2 = newKey('k2')
const customer = {
  name: 'Siobhan Keane',
  email: 'siobhan.keane@example.ie',
  address: { line1: '14 Harbour Row', city: 'Cobh' },
}
const order = { orderId: 'SO-ENC-1', lines: [{ sku: 'SKU-9', quantity: 1 }], customer }

describe('the payload vault', () => {
  const vault = new PayloadVault(parseKeyRing(K1, 'test'))

  it('encrypts the marked fields, binds them to their exception and opens them again', () => {
    const sealed = vault.encryptFields(order, ['customer.email', 'customer.address', 'customer.nope'], 'e1')
    const text = JSON.stringify(sealed)
    expect(text).not.toContain(customer.email)
    expect(text).not.toContain('Harbour Row')
    expect(text).toContain(customer.name) // not marked
    expect(vault.reveal(sealed, 'e1')).toEqual(order)
    // Copied onto another exception, the ciphertext does not open (GCM associated data).
    expect(() => vault.reveal(sealed, 'e2')).toThrow()
  })

  it('rotates: a new first key re-encrypts, and the old key can then leave the ring', () => {
    const sealed = vault.encryptFields(order, ['customer.email'], 'e1')
    const both = new PayloadVault(parseKeyRing(`${K2},${K1}`, 'test'))
    const rotated = both.rotate(sealed, 'e1')
    expect(rotated.changed).toBe(true)
    expect(JSON.stringify(rotated.payload)).toContain('"sbx1.k2.')
    expect(both.rotate(rotated.payload, 'e1').changed).toBe(false)
    const onlyNew = new PayloadVault(parseKeyRing(K2, 'test'))
    expect(onlyNew.reveal(rotated.payload, 'e1')).toEqual(order)
    expect(() => onlyNew.reveal(sealed, 'e1')).toThrow(/k1 is not in the key ring/)
  })

  it('refuses a malformed key ring with a clear message', () => {
    expect(() => parseKeyRing('k1:c2hvcnQ=', 'SIGNALBOX_PAYLOAD_KEYS')).toThrow(ConfigError)
    expect(() => parseKeyRing('k1:c2hvcnQ=', 'SIGNALBOX_PAYLOAD_KEYS')).toThrow(/k1 must be 32 bytes/)
    expect(() => parseKeyRing(`${K1},${K1}`, 'X')).toThrow(/distinct/)
    expect(() => parseKeyRing('no-colon', 'X')).toThrow(/id:base64/)
  })
})

describe('encrypted exception payloads in Signalbox', () => {
  let sb: TestSignalbox
  const tokens: Record<string, string> = {}
  beforeAll(async () => {
    sb = await startSignalbox({ SIGNALBOX_AUTH: 'tokens', SIGNALBOX_PAYLOAD_KEYS: K1 })
    for (const role of ['viewer', 'support', 'operator', 'admin'] as const)
      tokens[role] = (
        await createToken(sb.store, { name: role, kind: 'personal', role, createdBy: 'test' })
      ).token
    tokens.ingest = (
      await createToken(sb.store, { name: 'erp-sync', kind: 'ingest', role: 'ingest', createdBy: 'test' })
    ).token
  })
  afterAll(async () => {
    await sb?.close()
  })

  const listAs = async (role: string) => {
    const res = await fetch(`${sb.apiUrl}/api/exceptions?connector=order-to-cash`, {
      headers: { authorization: `Bearer ${tokens[role]}` },
    })
    return {
      status: res.status,
      body: (await res.json()) as { exceptions: Array<{ payload: typeof order; sensitive: string[] }> },
    }
  }

  it('are unreadable in the store, masked to support and readable to an operator', async () => {
    const res = await fetch(`${sb.apiUrl}/api/exceptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.ingest}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        connector: 'order-to-cash',
        flow: 'order_to_cash',
        step: 'post_sales_order',
        entity: { type: 'order', id: order.orderId },
        payload: order,
        sensitive: ['customer.name', 'customer.email', 'customer.address'],
        error: { class: 'erp.http_503', message: 'ERP unavailable' },
        attempts: 3,
        traceId: 'a'.repeat(32),
        spanId: 'b'.repeat(16),
      }),
    })
    expect(res.status).toBe(201)
    // The connector's own answer does not echo the personal data it sent.
    expect(await res.text()).not.toContain(customer.email)

    const rows = await sb.rows<{ payload: string }>(
      sql`SELECT payload FROM ${table(TABLES.exceptions)} FINAL WHERE entity_id = ${order.orderId}`,
    )
    expect(rows).toHaveLength(1)
    for (const secret of [customer.email, customer.name, 'Harbour Row', 'siobhan'])
      expect(rows[0]?.payload.toLowerCase()).not.toContain(secret.toLowerCase())
    expect(JSON.parse(rows[0]?.payload ?? '{}').orderId).toBe(order.orderId)

    const support = await listAs('support')
    expect(support.status).toBe(200)
    expect(support.body.exceptions[0]?.payload.customer).toEqual({ name: MASK, email: MASK, address: MASK })
    expect(support.body.exceptions[0]?.payload.lines).toEqual(order.lines)
    expect(support.body.exceptions[0]?.sensitive.sort()).toEqual([
      'customer.address',
      'customer.email',
      'customer.name',
    ])
    expect((await listAs('viewer')).status).toBe(403)
    for (const role of ['operator', 'admin'])
      expect((await listAs(role)).body.exceptions[0]?.payload).toEqual(order)
  })

  it('re-encrypts stored payloads under a rotated key; without the old key they stay readable', async () => {
    const rotated = new PayloadVault(parseKeyRing(`${K2},${K1}`, 'test'))
    expect(await rewriteExceptionPayloads(sb.store, (p, id) => rotated.rotate(p, id))).toBe(1)
    expect(await rewriteExceptionPayloads(sb.store, (p, id) => rotated.rotate(p, id))).toBe(0)
    const [row] = await sb.rows<{ id: string; payload: string; status: string }>(
      sql`SELECT id, payload, status FROM ${table(TABLES.exceptions)} FINAL WHERE entity_id = ${order.orderId}`,
    )
    expect(row?.payload).toContain('"sbx1.k2.')
    expect(row?.payload).not.toContain('"sbx1.k1.')
    expect(row?.status).toBe('open')
    const onlyNew = new PayloadVault(parseKeyRing(K2, 'test'))
    expect(onlyNew.reveal(JSON.parse(row?.payload ?? ''), row?.id ?? '')).toEqual(order)
    // This running Signalbox holds k1 only: an operator now sees the fields masked, not an error.
    const operator = await listAs('operator')
    expect(operator.status).toBe(200)
    expect(operator.body.exceptions[0]?.payload.customer.email).toBe(MASK)
  })
})
