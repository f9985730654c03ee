import { seededRandom } from './faults.ts'

/** Trade customers: businesses that buy on account (trade prices, invoiced monthly). */
export const TRADE_ACCOUNTS = ['TRD-1001', 'TRD-1002', 'TRD-1003', 'TRD-1004', 'TRD-1005'] as const

/** Orders n with n % every === at meet the incident. */
export interface Cadence {
  readonly every: number
  readonly at: number
}

/**
 * The troubles a retail support team meets, as standing conditions of the simulated estate, chosen
 * by the seed: which trade account credit control has on hold, which SKU code the ERP's item master
 * replaced, which pick face at the warehouse is empty, which bestseller sells down. The storefront
 * places the orders that meet them on a cadence (deterministic for the seed); the ERP, the warehouse
 * and the marketplace answer them the way the real systems do.
 */
export interface Incidents {
  /** The ERP refuses sales orders on account for it (422): fixed by an edited replay, prepaid. */
  readonly creditHoldAccount: string
  /** `[old, new]`: the storefront still sells the old code, the ERP knows only the new (422). */
  readonly superseded: readonly [string, string]
  /** Its pick face is empty: the warehouse sits on orders with it until replenishment. */
  readonly awaitingReplenishment: string
  /** Sells down at DC-NORTH; the marketplace suppresses its listing now and then (drift). */
  readonly bestseller: string
  /** Every so many orders, one for a trade customer on account (one in five of them on hold). */
  readonly trade: Cadence
  /** Orders with a line under the superseded code. */
  readonly supersededLine: Cadence
  /** Orders with a line of the SKU awaiting replenishment. */
  readonly replenishmentLine: Cadence
}

const sku = (n: number) => `SKU-${10_000 + n}`

export function incidentsFor(seed: number): Incidents {
  const random = seededRandom(seed * 7919 + 17)
  const pick = (from: number, to: number) => from + Math.floor(random() * (to - from))
  const old = pick(0, 500)
  // Three different SKUs: the superseded one, the one awaiting replenishment, the bestseller.
  const replenish = pick(1, 200)
  return {
    creditHoldAccount: TRADE_ACCOUNTS[pick(0, TRADE_ACCOUNTS.length)] as string,
    // The new code lies outside the range the storefront draws from: only an edit brings it.
    superseded: [sku(old), sku(500 + old)],
    awaitingReplenishment: sku((old + replenish) % 500),
    bestseller: sku((old + replenish + pick(1, 200)) % 500),
    // Early offsets: each trouble shows within the first minutes at the default 30 orders a minute.
    trade: { every: 10, at: pick(1, 10) },
    supersededLine: { every: 90, at: pick(10, 40) },
    replenishmentLine: { every: 60, at: pick(2, 10) },
  }
}

export const meets = (n: number, c: Cadence) => n % c.every === c.at
