import { type DiscrepancyKind, parseReceipt, receiptDiscrepancies } from '../core/receipts.ts'
import type { Store } from '../store/client.ts'
import { receiptsWithDiscrepancies } from '../store/queries/purchase-orders.ts'

/** The most receipts one evaluation reads: a bound, so a flood of bad deliveries stays cheap to count. */
const RECEIPTS_READ = 5000

/**
 * Discrepant receipt lines in goods receipts of [since, now), per supplier and kind: what the
 * `receipt_discrepancies` rule counts, from the same receipts as GET /api/purchase-orders/discrepancies.
 */
export async function discrepanciesPerSupplier(
  store: Store,
  since: Date,
  now: Date,
  kinds?: readonly DiscrepancyKind[],
): Promise<Array<{ supplier: string; kind: DiscrepancyKind; lines: number }>> {
  const counts = new Map<string, { supplier: string; kind: DiscrepancyKind; lines: number }>()
  for (const row of await receiptsWithDiscrepancies(store, since, now, RECEIPTS_READ)) {
    const receipt = parseReceipt(row.data)
    const supplier = receipt.supplier ?? 'unknown'
    for (const d of receiptDiscrepancies(receipt)) {
      if (kinds && !kinds.includes(d.kind)) continue
      const key = `${supplier}\u0000${d.kind}`
      const entry = counts.get(key) ?? { supplier, kind: d.kind, lines: 0 }
      entry.lines++
      counts.set(key, entry)
    }
  }
  return [...counts.values()]
}
