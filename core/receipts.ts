import { z } from 'zod'

/**
 * Goods receipts against purchase orders, and what disagrees in them: the warehouse counted less
 * than was ordered (short), more (over), or an item the order never named (wrong item); and, beside
 * those, the supplier's advance shipping notice promising other quantities than arrived.
 */

/** One line of a `retail.purchase_order.received` event. */
const receiptLine = z.object({
  sku: z.string().min(1),
  ordered: z.number().nonnegative().default(0),
  /** What the ASN said was shipped; absent when no ASN came. */
  shipped: z.number().nonnegative().nullish(),
  received: z.number().nonnegative().default(0),
  unitCost: z.number().nonnegative().nullish(),
})
export const receiptData = z.object({
  receipt: z.string().nullish(),
  supplier: z.string().nullish(),
  location: z.string().nullish(),
  asn: z.string().nullish(),
  currency: z.string().nullish(),
  lines: z.array(receiptLine).default([]),
})
export type ReceiptLine = z.infer<typeof receiptLine>
export type ReceiptData = z.infer<typeof receiptData>

export const DISCREPANCY_KINDS = ['short', 'over', 'wrong_item', 'asn_mismatch'] as const
export type DiscrepancyKind = (typeof DISCREPANCY_KINDS)[number]

export interface Discrepancy {
  readonly sku: string
  readonly kind: DiscrepancyKind
  readonly ordered: number
  readonly shipped: number | null
  readonly received: number
  /** Received less ordered (negative: short). For an ASN mismatch, received less shipped. */
  readonly difference: number
  /** The difference at the order's unit cost, where the order gives one. */
  readonly value: number | null
}

const round2 = (n: number) => Math.round(n * 100) / 100

/**
 * A line's discrepancy, if it has one. Short, over and wrong item compare the count with the order;
 * a line that matches the order but not its ASN is an ASN mismatch (the supplier's notice was wrong,
 * and the next one may be trusted less).
 */
export function lineDiscrepancy(line: ReceiptLine): Discrepancy | undefined {
  const shipped = line.shipped ?? null
  const base = { sku: line.sku, ordered: line.ordered, shipped, received: line.received }
  const valued = (difference: number) =>
    line.unitCost === null || line.unitCost === undefined ? null : round2(difference * line.unitCost)
  const difference = line.received - line.ordered
  if (line.ordered === 0 && line.received > 0)
    return { ...base, kind: 'wrong_item', difference, value: valued(line.received) }
  if (difference < 0) return { ...base, kind: 'short', difference, value: valued(difference) }
  if (difference > 0) return { ...base, kind: 'over', difference, value: valued(difference) }
  if (shipped !== null && shipped !== line.received)
    return { ...base, kind: 'asn_mismatch', difference: line.received - shipped, value: null }
  return undefined
}

/** Every discrepancy of a receipt, in line order. */
export function receiptDiscrepancies(data: ReceiptData): Discrepancy[] {
  return data.lines.flatMap((l) => lineDiscrepancy(l) ?? [])
}

/** A received event's data, read leniently: a producer's malformed body yields no lines, not an error. */
export function parseReceipt(json: string): ReceiptData {
  try {
    const parsed = receiptData.safeParse(JSON.parse(json))
    return parsed.success ? parsed.data : { lines: [] }
  } catch {
    return { lines: [] }
  }
}
