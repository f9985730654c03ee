import { z } from 'zod'
import type { PurchaseOrder } from '../estate/purchasing.ts'

/** The documents the flow moves, as the ERP, the supplier portal and the warehouse hand them over. */

const countedLine = z.object({ sku: z.string().min(1), quantity: z.number().nonnegative() })

export const purchaseOrderSchema = z.object({
  poNumber: z.string().min(1).max(100),
  supplier: z.string().min(1).max(100),
  location: z.string().min(1).max(100),
  currency: z.string().length(3),
  lines: z
    .array(
      z.object({
        sku: z.string().min(1),
        quantity: z.number().positive(),
        unitCost: z.number().nonnegative(),
      }),
    )
    .min(1),
  createdAt: z.string(),
})

export const portalEventSchema = z.discriminatedUnion('kind', [
  z.object({
    id: z.number(),
    kind: z.literal('acknowledged'),
    poNumber: z.string().min(1),
    supplier: z.string().min(1),
    promisedAt: z.string(),
    at: z.string(),
  }),
  z.object({
    id: z.number(),
    kind: z.literal('shipped'),
    poNumber: z.string().min(1),
    supplier: z.string().min(1),
    asn: z.string().min(1),
    lines: z.array(countedLine),
    at: z.string(),
  }),
])

export const goodsReceiptSchema = z.object({
  id: z.number(),
  receipt: z.string().min(1),
  poNumber: z.string().min(1),
  asn: z.string(),
  location: z.string().min(1),
  lines: z.array(countedLine),
  at: z.string(),
})

type Counted = ReadonlyArray<{ readonly sku: string; readonly quantity: number }>

/**
 * A goods receipt line by line beside its order and its ASN: every SKU any of the three names, with
 * what was ordered (0 for an item the order never named), said to be shipped (null without an ASN)
 * and counted, at the order's unit cost. What `retail.purchase_order.received` carries.
 */
export function receivedLines(po: PurchaseOrder, asn: Counted | undefined, counted: Counted) {
  const sum = (lines: Counted, sku: string) =>
    lines.filter((l) => l.sku === sku).reduce((n, l) => n + l.quantity, 0)
  const skus = [...new Set([...po.lines, ...(asn ?? []), ...counted].map((l) => l.sku))]
  return skus.map((sku) => ({
    sku,
    ordered: sum(po.lines, sku),
    shipped: asn ? sum(asn, sku) : null,
    received: sum(counted, sku),
    unitCost: po.lines.find((l) => l.sku === sku)?.unitCost ?? null,
  }))
}
