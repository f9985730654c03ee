import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RuleOfKind, ruleValues } from '../../alerts/rules.ts'
import { createToken } from '../../auth/tokens.ts'
import { loadFlows } from '../../core/flows.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

/*
 * Goods receipts against purchase orders, as another tool would send them (CloudEvents with the
 * purchase order as subject): their discrepancies on the purchase order's lifecycle and in the list
 * across purchase orders, narrowed to a token's scope.
 */

let sb: TestSignalbox
let admin: string
const HOUR = 3_600_000
const t0 = Date.now() - 3 * HOUR
let n = 0
const po = (stage: string, id: string, offsetMs: number, data: object = {}, system = 'erp') => ({
  specversion: '1.0',
  id: `po-api-${n++}`,
  source: 'urn:test:procurement',
  type: `retail.purchase_order.${stage}`,
  subject: id,
  time: new Date(t0 + offsetMs).toISOString(),
  system,
  data,
})
const line = (sku: string, ordered: number, shipped: number | null, received: number, unitCost = 2.5) => ({
  sku,
  ordered,
  shipped,
  received,
  unitCost,
})
const received = (id: string, offsetMs: number, lines: object[], supplier = 'ACME-HOME') =>
  po(
    'received',
    id,
    offsetMs,
    { receipt: `GR-${id}`, supplier, location: 'DC-NORTH', asn: `ASN-${id}`, currency: 'GBP', lines },
    'wms',
  )

beforeAll(async () => {
  sb = await startSignalbox({ SIGNALBOX_AUTH: 'tokens' })
  admin = (await createToken(sb.store, { name: 'root', kind: 'personal', role: 'admin', createdBy: 'test' }))
    .token
  const res = await fetch(`${sb.collectorUrl}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/cloudevents-batch+json' },
    body: JSON.stringify([
      // PO-SHORT: 10 ordered, the ASN said 10, 7 came; then matched and closed.
      po('created', 'PO-SHORT', 0),
      po('sent', 'PO-SHORT', 60_000, {}, 'supplier-portal'),
      po('acknowledged', 'PO-SHORT', 120_000, {}, 'supplier-portal'),
      po('shipped', 'PO-SHORT', 180_000, {}, 'supplier-portal'),
      received('PO-SHORT', 240_000, [line('SKU-A', 10, 10, 7), line('SKU-B', 4, 4, 4)]),
      po('matched', 'PO-SHORT', 300_000),
      po('closed', 'PO-SHORT', 360_000),
      // PO-MIX: one over, one wrong item, one matching the order but not its ASN, from another supplier.
      po('created', 'PO-MIX', 0),
      received(
        'PO-MIX',
        200_000,
        [line('SKU-C', 5, 5, 8), line('SKU-X', 0, 0, 3), line('SKU-D', 6, 9, 6)],
        'GLOBEX',
      ),
      // PO-CLEAN: everything as ordered.
      po('created', 'PO-CLEAN', 0),
      received('PO-CLEAN', 200_000, [line('SKU-E', 6, 6, 6)]),
    ]),
  })
  expect(res.status).toBe(200)
})
afterAll(async () => {
  await sb?.close()
})

const get = async (path: string, token = admin) => {
  const res = await fetch(`${sb.apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

type Discrepancies = {
  total: number
  byKind: Record<string, number>
  discrepancies: Array<Record<string, unknown>>
}

describe('receipt discrepancies', () => {
  it('show on the purchase order’s lifecycle, beside its stages', async () => {
    const { status, body } = await get('/api/entities/purchase_order/PO-SHORT/lifecycle')
    expect(status).toBe(200)
    expect(body.status).toBe('completed')
    const receipts = body.receipts as Array<{ receipt: string; discrepancies: unknown[] }>
    expect(receipts).toHaveLength(1)
    expect(receipts[0]?.receipt).toBe('GR-PO-SHORT')
    expect(receipts[0]?.discrepancies).toEqual([
      { sku: 'SKU-A', kind: 'short', ordered: 10, shipped: 10, received: 7, difference: -3, value: -7.5 },
    ])
    // A receipt that agrees with its order and ASN is shown, with nothing against it.
    const clean = await get('/api/entities/purchase_order/PO-CLEAN/lifecycle')
    expect((clean.body.receipts as Array<{ discrepancies: unknown[] }>)[0]?.discrepancies).toEqual([])
  })

  it('are listed across purchase orders, newest first, by kind, with how far each order has got', async () => {
    const { status, body } = await get('/api/purchase-orders/discrepancies')
    expect(status).toBe(200)
    const list = body as unknown as Discrepancies
    expect(list.total).toBe(4)
    expect(list.byKind).toEqual({ short: 1, over: 1, wrong_item: 1, asn_mismatch: 1 })
    expect(list.discrepancies.map((d) => [d.purchaseOrder, d.sku, d.kind])).toEqual([
      ['PO-SHORT', 'SKU-A', 'short'],
      ['PO-MIX', 'SKU-C', 'over'],
      ['PO-MIX', 'SKU-X', 'wrong_item'],
      ['PO-MIX', 'SKU-D', 'asn_mismatch'],
    ])
    expect(list.discrepancies[0]).toMatchObject({
      supplier: 'ACME-HOME',
      location: 'DC-NORTH',
      asn: 'ASN-PO-SHORT',
      lastEvent: 'retail.purchase_order.closed',
    })
    expect(list.discrepancies[1]).toMatchObject({ difference: 3, value: 7.5 })
    expect(list.discrepancies[3]).toMatchObject({ difference: -3, value: null, shipped: 9, received: 6 })
    const globex = (await get('/api/purchase-orders/discrepancies?supplier=GLOBEX&kind=wrong_item'))
      .body as unknown as Discrepancies
    expect(globex.discrepancies.map((d) => d.sku)).toEqual(['SKU-X'])
  })

  it('refuse a bad filter with 400 and name it', async () => {
    const { status, body } = await get('/api/purchase-orders/discrepancies?kind=damaged&limit=0')
    expect(status).toBe(400)
    expect(JSON.stringify(body)).toMatch(/kind/)
    expect(JSON.stringify(body)).toMatch(/limit/)
  })

  it('are narrowed to a token’s scope: a token for another flow or system sees none', async () => {
    const token = async (scope: Record<string, string[]>) => {
      const res = await fetch(`${sb.apiUrl}/api/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: JSON.stringify(scope), kind: 'personal', role: 'support', scope }),
      })
      return ((await res.json()) as { token: string }).token
    }
    const procurement = await get(
      '/api/purchase-orders/discrepancies',
      await token({ flows: ['procure_to_receive'] }),
    )
    expect((procurement.body as unknown as Discrepancies).total).toBe(4)
    const warehouse = await get('/api/purchase-orders/discrepancies', await token({ systems: ['wms'] }))
    expect((warehouse.body as unknown as Discrepancies).total).toBe(4)
    const orders = await get('/api/purchase-orders/discrepancies', await token({ flows: ['order_to_cash'] }))
    expect(orders.status).toBe(200)
    expect(orders.body).toMatchObject({ total: 0, discrepancies: [] })
    const storefront = await get(
      '/api/purchase-orders/discrepancies',
      await token({ systems: ['storefront'] }),
    )
    expect((storefront.body as unknown as Discrepancies).total).toBe(0)
  })
})

describe('the receipt_discrepancies rule', () => {
  it('counts the same discrepancies per supplier and kind, over its threshold', async () => {
    const rule = {
      kind: 'receipt_discrepancies',
      settings: { within: 24 * HOUR, above: 0, kinds: ['short', 'over', 'wrong_item'] },
    } as RuleOfKind
    const values = await ruleValues(
      { store: sb.store, flows: loadFlows(sb.config.configDir) },
      rule,
      new Date(),
    )
    expect(values.map((v) => [v.labels.supplier, v.labels.discrepancy, v.value, v.over]).sort()).toEqual([
      ['ACME-HOME', 'short', 1, true],
      ['GLOBEX', 'over', 1, true],
      ['GLOBEX', 'wrong_item', 1, true],
    ])
    expect(values[0]?.labels.flow).toBe('procure_to_receive')
    // Outside its window, nothing is counted.
    const earlier = await ruleValues(
      { store: sb.store, flows: loadFlows(sb.config.configDir) },
      { ...rule, settings: { ...rule.settings, within: HOUR } } as RuleOfKind,
      new Date(),
    )
    expect(earlier).toEqual([])
  })
})
