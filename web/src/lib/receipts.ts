/** Receipt discrepancies in words, for the purchase-order views. */
export const DISCREPANCY: Record<string, string> = {
  short: 'short',
  over: 'over',
  wrong_item: 'wrong item',
  asn_mismatch: 'ASN disagrees',
}

export const quantity = (n: number | null | undefined) => (n === null || n === undefined ? '—' : String(n))

export const money = (n: number | null | undefined, currency: string | null = '') =>
  n === null || n === undefined ? '—' : `${n.toFixed(2)}${currency ? ` ${currency}` : ''}`
