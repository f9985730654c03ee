import { describe, expect, it, onTestFinished } from 'vitest'
import { raisePurchaseOrder } from '../../connectors/procure-to-receive/demo.ts'
import { useDemo } from '../support/demo.ts'

const fixture = useDemo()
const estate = () => fixture.demo.estate

interface Lifecycle {
  status: string
  stages: Array<{ name: string; status: string; replayId: string | null }>
  timeline: Array<{ kind: string; name: string; system: string }>
  receipts: Array<{
    receipt: string
    lines: Array<{ sku: string; ordered: number; shipped: number | null; received: number }>
    discrepancies: Array<{ sku: string; kind: string; difference: number; value: number | null }>
  }>
}

async function lifecycle(po: string): Promise<Lifecycle | undefined> {
  const res = await fetch(`${fixture.sb.apiUrl}/api/entities/purchase_order/${po}/lifecycle`)
  return res.ok ? ((await res.json()) as Lifecycle) : undefined
}

const stageOf = async (po: string, stage: string) =>
  (await lifecycle(po))?.stages.find((s) => s.name === stage)?.status

/** The supplier acts (acknowledges, ships) once the order reached the portal; the warehouse counts. */
async function supplierShipsAndWarehouseReceives(po: string) {
  await expect.poll(() => estate().supplierPortal.orders.has(po), { timeout: 20_000 }).toBe(true)
  estate().supplierPortal.advance()
  estate().wms.receiveInbound()
}

describe('a purchase order raised in the ERP', () => {
  it('goes from created to stock available across ERP, supplier portal and WMS, and shows a short delivery', async () => {
    const po = raisePurchaseOrder(estate(), 'ACME-HOME')
    const [first, ...rest] = po.lines.map(({ sku, quantity }) => ({ sku, quantity }))
    if (!first) throw new Error('a purchase order has lines')
    // Two short on the first line, though the ASN promised everything.
    estate().supplierPortal.plans.set(po.poNumber, {
      lines: [{ ...first, quantity: first.quantity - 2 }, ...rest],
      asnLines: [first, ...rest],
    })
    await supplierShipsAndWarehouseReceives(po.poNumber)
    await expect
      .poll(async () => (await lifecycle(po.poNumber))?.status, { timeout: 30_000 })
      .toBe('completed')
    const l = (await lifecycle(po.poNumber)) as Lifecycle
    expect(l.stages.every((s) => s.status === 'done')).toBe(true)
    // Each stage reported by the system that did it.
    const systems = Object.fromEntries(
      l.timeline
        .filter((t) => t.kind === 'event')
        .map((t) => [t.name.replace('retail.purchase_order.', ''), t.system]),
    )
    expect(systems).toEqual({
      created: 'erp',
      sent: 'supplier-portal',
      acknowledged: 'supplier-portal',
      shipped: 'supplier-portal',
      received: 'wms',
      matched: 'erp',
      closed: 'erp',
    })
    expect(l.receipts).toHaveLength(1)
    const unitCost = po.lines[0]?.unitCost ?? 0
    expect(l.receipts[0]?.discrepancies).toEqual([
      {
        sku: first.sku,
        kind: 'short',
        ordered: first.quantity,
        shipped: first.quantity,
        received: first.quantity - 2,
        difference: -2,
        value: Math.round(-2 * unitCost * 100) / 100,
      },
    ])
    // The ERP matched the invoice (which billed the ASN's quantities) with a variance, and put the
    // counted goods into stock: a stock change inventory sync publishes.
    const [match] = [...estate().erp.purchasing.matches.values()].filter((m) => m.poNumber === po.poNumber)
    expect(match).toMatchObject({ status: 'variance', variance: Math.round(2 * unitCost * 100) / 100 })
    expect([...estate().erp.purchasing.stocked.values()].map((s) => s.poNumber)).toContain(po.poNumber)

    const list = (await (
      await fetch(`${fixture.sb.apiUrl}/api/purchase-orders/discrepancies?kind=short`)
    ).json()) as { discrepancies: Array<{ purchaseOrder: string; kind: string; lastEvent: string }> }
    expect(list.discrepancies).toContainEqual(
      expect.objectContaining({
        purchaseOrder: po.poNumber,
        kind: 'short',
        lastEvent: 'retail.purchase_order.closed',
      }),
    )
  })

  it('shows a supplier that shipped without acknowledging, and a substitute item as a wrong item', async () => {
    estate().supplierPortal.suppliers.set('SILENT-CO', {
      ackAfterMs: 0,
      missingAckRate: 1,
      shipAfterMs: 0,
      discrepancyRate: 0,
      asnErrorRate: 0,
    })
    const po = raisePurchaseOrder(estate(), 'SILENT-CO')
    const lines = po.lines.map(({ sku, quantity }) => ({ sku, quantity }))
    const substitute = { sku: 'SKU-SUBSTITUTE', quantity: 6 }
    estate().supplierPortal.plans.set(po.poNumber, { lines: [...lines, substitute], asnLines: lines })
    await supplierShipsAndWarehouseReceives(po.poNumber)
    await expect.poll(() => stageOf(po.poNumber, 'stock_available'), { timeout: 30_000 }).toBe('done')
    const l = (await lifecycle(po.poNumber)) as Lifecycle
    // The supplier shipped without acknowledging: a stage passed over, not yet past its limit.
    expect(l.stages.find((s) => s.name === 'acknowledged')?.status).toBe('unconfirmed')
    expect(l.receipts[0]?.discrepancies).toEqual([
      expect.objectContaining({
        sku: 'SKU-SUBSTITUTE',
        kind: 'wrong_item',
        ordered: 0,
        shipped: 0,
        received: 6,
      }),
    ])
  })

  it('fails the send while the portal is down, and a replay through Signalbox sends it once', async () => {
    const portal = estate().supplierPortal
    portal.faults = { errorRate: 0, throttleRate: 0, outage: true }
    onTestFinished(() => {
      portal.faults = { errorRate: 0, throttleRate: 0, outage: false }
    })
    const po = raisePurchaseOrder(estate(), 'ACME-HOME')
    const exceptionFor = async () => {
      const res = await fetch(`${fixture.sb.apiUrl}/api/exceptions?connector=procure-to-receive`)
      const body = (await res.json()) as {
        exceptions: Array<{ id: string; step: string; entity: { type: string; id: string } }>
      }
      return body.exceptions.find((e) => e.entity.id === po.poNumber)
    }
    await expect.poll(exceptionFor, { timeout: 20_000 }).toMatchObject({
      step: 'send_to_supplier',
      entity: { type: 'purchase_order', id: po.poNumber },
    })
    expect(await stageOf(po.poNumber, 'sent')).not.toBe('done')
    portal.faults.outage = false
    const exception = await exceptionFor()
    const replay = await fetch(`${fixture.sb.apiUrl}/api/exceptions/${exception?.id}/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'test', reason: 'the portal is back' }),
    })
    expect(replay.status).toBe(200)
    expect(((await replay.json()) as { replay: { status: string } }).replay.status).toBe('succeeded')
    await expect.poll(() => stageOf(po.poNumber, 'sent'), { timeout: 20_000 }).toBe('done')
    const sent = (await lifecycle(po.poNumber))?.stages.find((s) => s.name === 'sent')
    expect(sent?.replayId).toBeTruthy()
    expect(portal.orders.has(po.poNumber)).toBe(true)
  })

  it('is re-synced from the ERP through the same connector code: read again, then sent', async () => {
    const portal = estate().supplierPortal
    portal.faults = { errorRate: 0, throttleRate: 0, outage: true }
    onTestFinished(() => {
      portal.faults = { errorRate: 0, throttleRate: 0, outage: false }
    })
    const po = raisePurchaseOrder(estate(), 'NORTHWIND')
    await expect.poll(() => stageOf(po.poNumber, 'created'), { timeout: 20_000 }).toBe('done')
    await expect.poll(() => stageOf(po.poNumber, 'sent'), { timeout: 20_000 }).toBe('failed')
    portal.faults.outage = false
    const res = await fetch(`${fixture.sb.apiUrl}/api/entities/purchase_order/${po.poNumber}/resync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'test', reason: 'the supplier never got it' }),
    })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { resync: unknown }).resync).toMatchObject({
      status: 'succeeded',
      step: 'record_purchase_order',
      connector: 'procure-to-receive',
    })
    await expect.poll(() => portal.orders.has(po.poNumber), { timeout: 20_000 }).toBe(true)
    await expect.poll(() => stageOf(po.poNumber, 'sent'), { timeout: 20_000 }).toBe('done')
  })
})
