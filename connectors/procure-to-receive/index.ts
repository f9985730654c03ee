import { PURCHASE_ORDER_EVENTS as PO } from '../../core/vocabulary.ts'
import type { PurchaseOrder, PurchaseOrderChange } from '../estate/purchasing.ts'
import type { PortalEvent } from '../estate/supplier-portal.ts'
import type { GoodsReceipt } from '../estate/wms.ts'
import { Connector, followFeed, type RetryPolicy } from '../sdk/index.ts'
import { goodsReceiptSchema, portalEventSchema, purchaseOrderSchema, receivedLines } from './documents.ts'

export interface ProcureToReceiveOptions {
  /** The connector's id in Signalbox (default `procure-to-receive`); a second instance needs its own. */
  readonly id?: string
  readonly collectorUrl: string
  readonly apiUrl: string
  readonly urls: { readonly erp: string; readonly supplierPortal: string; readonly wms: string }
  readonly retry?: RetryPolicy
  /** Signalbox's ingestion key, when it requires one. */
  readonly ingestKey?: string
}

const FLOW = 'procure_to_receive'
const entity = (x: { poNumber: string }) => ({ type: 'purchase_order' as const, id: x.poNumber })
const ext = (system: string) => ({ system, flow: FLOW })
const enc = encodeURIComponent

/**
 * Procure to receive, the sync itself: a purchase order the ERP raises is sent to the supplier
 * portal; the supplier's acknowledgement and advance shipping notice come back from the portal's
 * feed; the warehouse's goods receipt is set beside the order and the ASN (what was ordered, said to
 * be shipped and counted, line by line), three-way matched in the ERP with the supplier's invoice,
 * and posted to stock, which inventory sync then publishes to the channels.
 */
export function procureToReceiveConnector(options: ProcureToReceiveOptions): Connector {
  const { urls } = options
  // A re-sync reads the purchase order from the ERP, as it stands now.
  const loadPurchaseOrder = async (ref: { id: string }) => {
    const res = await fetch(`${urls.erp}/api/purchaseorders/${enc(ref.id)}`)
    if (res.status === 404) return undefined
    if (!res.ok) throw new Error(`the ERP answered ${res.status}`)
    return purchaseOrderSchema.parse(await res.json())
  }
  return new Connector({
    id: options.id ?? 'procure-to-receive',
    system: 'erp',
    collectorUrl: options.collectorUrl,
    apiUrl: options.apiUrl,
    retry: options.retry,
    ingestKey: options.ingestKey,
  })
    .step<PurchaseOrder>('record_purchase_order', {
      flow: FLOW,
      stage: 'created',
      entity,
      schema: purchaseOrderSchema,
      load: loadPurchaseOrder,
      next: 'send_to_supplier',
      run: async (po, ctx) => {
        const total = po.lines.reduce((s, l) => s + l.quantity * l.unitCost, 0)
        await ctx.emit({
          type: PO.created,
          subject: po.poNumber,
          data: {
            supplier: po.supplier,
            location: po.location,
            currency: po.currency,
            total: Math.round(total * 100) / 100,
            lines: po.lines,
          },
          extensions: { ...ext('erp'), locationid: po.location },
        })
      },
    })
    .step<PurchaseOrder>('send_to_supplier', {
      flow: FLOW,
      stage: 'sent',
      entity,
      schema: purchaseOrderSchema,
      load: loadPurchaseOrder,
      run: async (po, ctx) => {
        const sent = await ctx.call<{ portalRef: string }>('supplier-portal', {
          method: 'POST',
          url: `${urls.supplierPortal}/api/portal/orders`,
          route: '/api/portal/orders',
          body: po,
        })
        await ctx.emit({
          type: PO.sent,
          subject: po.poNumber,
          data: { supplier: po.supplier, portalRef: sent.portalRef },
          extensions: ext('supplier-portal'),
        })
      },
    })
    .step<PurchaseOrder>('record_cancellation', {
      flow: FLOW,
      stage: 'cancelled',
      entity,
      schema: purchaseOrderSchema,
      run: async (po, ctx) => {
        await ctx.emit({
          type: PO.cancelled,
          subject: po.poNumber,
          data: { supplier: po.supplier },
          extensions: ext('erp'),
        })
      },
    })
    .step<PortalEvent>('record_acknowledgement', {
      flow: FLOW,
      stage: 'acknowledged',
      entity,
      schema: portalEventSchema,
      run: async (e, ctx) => {
        if (e.kind !== 'acknowledged') return
        await ctx.emit({
          type: PO.acknowledged,
          subject: e.poNumber,
          data: { supplier: e.supplier, promisedAt: e.promisedAt },
          extensions: ext('supplier-portal'),
        })
      },
    })
    .step<PortalEvent>('record_asn', {
      flow: FLOW,
      stage: 'shipped',
      entity,
      schema: portalEventSchema,
      run: async (e, ctx) => {
        if (e.kind !== 'shipped') return
        await ctx.emit({
          type: PO.shipped,
          subject: e.poNumber,
          data: { supplier: e.supplier, asn: e.asn, lines: e.lines },
          extensions: ext('supplier-portal'),
        })
      },
    })
    .step<GoodsReceipt>('record_receipt', {
      flow: FLOW,
      stage: 'received',
      entity,
      unit: (r) => r.receipt,
      schema: goodsReceiptSchema,
      next: 'three_way_match',
      run: async (r, ctx) => {
        // The order says what was ordered, the ASN what was said to be shipped, the count what came.
        const po = await ctx.call<PurchaseOrder>('erp', {
          method: 'GET',
          url: `${urls.erp}/api/purchaseorders/${enc(r.poNumber)}`,
          route: '/api/purchaseorders/{po}',
        })
        const asn = await ctx
          .call<{ lines: GoodsReceipt['lines'] }>('supplier-portal', {
            method: 'GET',
            url: `${urls.supplierPortal}/api/portal/asns/${enc(r.poNumber)}`,
            route: '/api/portal/asns/{po}',
          })
          // No ASN came (the supplier shipped unannounced): the receipt is compared with the order alone.
          .catch(() => undefined)
        await ctx.emit({
          type: PO.received,
          subject: r.poNumber,
          data: {
            receipt: r.receipt,
            supplier: po.supplier,
            location: r.location,
            asn: r.asn,
            currency: po.currency,
            lines: receivedLines(po, asn?.lines, r.lines),
          },
          extensions: { ...ext('wms'), locationid: r.location },
        })
      },
    })
    .step<GoodsReceipt>('three_way_match', {
      flow: FLOW,
      stage: 'matched',
      entity,
      unit: (r) => r.receipt,
      schema: goodsReceiptSchema,
      next: 'post_to_stock',
      run: async (r, ctx) => {
        const invoice = await ctx.call<{ number: string; lines: GoodsReceipt['lines'] }>('supplier-portal', {
          method: 'GET',
          url: `${urls.supplierPortal}/api/portal/invoices/${enc(r.poNumber)}`,
          route: '/api/portal/invoices/{po}',
        })
        const match = await ctx.call<{ invoice: string; status: string; variance: number }>('erp', {
          method: 'POST',
          url: `${urls.erp}/api/purchaseorders/${enc(r.poNumber)}/match`,
          route: '/api/purchaseorders/{po}/match',
          body: { receipt: r.receipt, lines: r.lines, invoice },
        })
        await ctx.emit({
          type: PO.matched,
          subject: r.poNumber,
          data: {
            receipt: r.receipt,
            invoice: match.invoice,
            status: match.status,
            variance: match.variance,
          },
          extensions: ext('erp'),
        })
      },
    })
    .step<GoodsReceipt>('post_to_stock', {
      flow: FLOW,
      stage: 'stock_available',
      entity,
      unit: (r) => r.receipt,
      schema: goodsReceiptSchema,
      run: async (r, ctx) => {
        await ctx.call('erp', {
          method: 'POST',
          url: `${urls.erp}/api/purchaseorders/${enc(r.poNumber)}/stock`,
          route: '/api/purchaseorders/{po}/stock',
          body: { receipt: r.receipt, lines: r.lines },
        })
        await ctx.emit({
          type: PO.closed,
          subject: r.poNumber,
          data: { receipt: r.receipt, location: r.location, lines: r.lines },
          extensions: { ...ext('erp'), locationid: r.location },
        })
      },
    })
}

/**
 * Follows the three feeds the flow moves on: the ERP's purchase orders, the portal's
 * acknowledgements and ASNs, and the warehouse's goods receipts. Returns a stop function.
 */
export function followProcurement(
  connector: Connector,
  urls: ProcureToReceiveOptions['urls'],
  intervalMs: number,
): () => void {
  const stops = [
    followFeed<PurchaseOrderChange>(
      `${urls.erp}/api/purchaseorders/changes`,
      (c) =>
        void connector.run(
          c.kind === 'created' ? 'record_purchase_order' : 'record_cancellation',
          c.purchaseOrder,
        ),
      intervalMs,
    ),
    followFeed<PortalEvent>(
      `${urls.supplierPortal}/api/portal/events`,
      (e) => void connector.run(e.kind === 'acknowledged' ? 'record_acknowledgement' : 'record_asn', e),
      intervalMs,
    ),
    followFeed<GoodsReceipt>(
      `${urls.wms}/inbound/receipts`,
      (r) => void connector.run('record_receipt', r),
      intervalMs,
    ),
  ]
  return () => {
    for (const stop of stops) stop()
  }
}
