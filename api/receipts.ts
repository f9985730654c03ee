import { type Discrepancy, parseReceipt, receiptDiscrepancies } from '../core/receipts.ts'
import type { ReceiptRow } from '../store/queries/purchase-orders.ts'
import { isoFromMs } from './params.ts'

/** A goods receipt as the api shows it: its lines as counted, and what disagrees in them. */
export function receiptView(row: ReceiptRow) {
  const data = parseReceipt(row.data)
  return {
    purchaseOrder: row.purchase_order,
    at: isoFromMs(row.time_ms),
    receipt: data.receipt ?? null,
    supplier: data.supplier ?? null,
    location: data.location ?? null,
    asn: data.asn ?? null,
    currency: data.currency ?? null,
    system: row.system,
    traceId: row.trace_id || null,
    lines: data.lines.map((l) => ({
      sku: l.sku,
      ordered: l.ordered,
      shipped: l.shipped ?? null,
      received: l.received,
      unitCost: l.unitCost ?? null,
    })),
    discrepancies: receiptDiscrepancies(data),
  }
}
export type ReceiptView = ReturnType<typeof receiptView>

/** One row of the discrepancies list: the discrepancy with its receipt and purchase order. */
export function discrepancyRow(r: ReceiptView, d: Discrepancy, lastEvent: string | undefined) {
  return {
    purchaseOrder: r.purchaseOrder,
    receipt: r.receipt,
    at: r.at,
    supplier: r.supplier,
    location: r.location,
    asn: r.asn,
    currency: r.currency,
    traceId: r.traceId,
    ...d,
    /** How far the purchase order has got since: `matched` or `closed` once the ERP settled it. */
    lastEvent: lastEvent ?? null,
  }
}
