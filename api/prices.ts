import {
  basePriceAt,
  channelConflict,
  channelsOf,
  expectedPrice,
  isLive,
  lastTold,
  type PriceConflict,
  type PriceState,
  publicationLag,
  round2,
} from '../core/prices.ts'
import type { UnitsSoldRow } from '../store/queries/prices.ts'

const iso = (ms: number) => new Date(ms).toISOString()

/** Web and app orders are storefront sales. */
const salesChannel = (orderChannel: string) =>
  orderChannel === 'web' || orderChannel === 'app' ? 'storefront' : orderChannel

const saleKey = (sku: string, channel: string) => `${sku}\u0000${channel}`

/** Units sold, grouped once by SKU and sales channel: each conflict then reads only its own. */
export type SoldBySkuAndChannel = ReadonlyMap<string, readonly UnitsSoldRow[]>

export function soldBySkuAndChannel(sold: readonly UnitsSoldRow[]): SoldBySkuAndChannel {
  const grouped = new Map<string, UnitsSoldRow[]>()
  for (const s of sold) {
    const key = saleKey(s.sku, salesChannel(s.channel))
    const rows = grouped.get(key)
    if (rows) rows.push(s)
    else grouped.set(key, [s])
  }
  return grouped
}

/** A conflict as the api shows it, with the units sold on the channel since and the revenue at risk. */
export function conflictView(c: PriceConflict, sold: SoldBySkuAndChannel | undefined) {
  const units = sold
    ? (sold.get(saleKey(c.sku, c.channel)) ?? [])
        .filter((s) => Number(s.time_ms) >= c.since)
        .reduce((n, s) => n + Number(s.quantity), 0)
    : undefined
  return {
    sku: c.sku,
    priceList: c.priceList,
    channel: c.channel,
    kind: c.kind,
    since: iso(c.since),
    shownPrice: c.shownPrice,
    expectedPrice: c.expectedPrice,
    currency: c.currency,
    promotionId: c.promotionId,
    perUnit: c.perUnit,
    unitsSold: units ?? null,
    revenueAtRisk: units === undefined || c.perUnit === null ? null : round2(units * c.perUnit),
  }
}

/**
 * One SKU on one price list: the price and promotions at the source of truth over time, what each
 * channel was last told and when, the publication lag of the price expected now, and its conflict.
 */
export function priceView(
  state: PriceState,
  now: number,
  deadlineMs: number,
  sold: readonly UnitsSoldRow[],
  listed: readonly string[] = [],
) {
  const base = basePriceAt(state.changes, now)
  const soldBy = soldBySkuAndChannel(sold)
  return {
    priceList: state.priceList,
    sourceOfTruth: base
      ? {
          price: base.price,
          currency: base.currency,
          since: iso(base.since),
          promotions: state.promotions.filter((p) => isLive(p, now)).map((p) => p.promotionId),
        }
      : null,
    changes: state.changes.map((c) => ({
      at: iso(c.at),
      price: c.price,
      currency: c.currency,
      effectiveAt: iso(c.effectiveAt),
    })),
    promotions: state.promotions.map((p) => ({
      promotionId: p.promotionId,
      kind: p.kind,
      value: p.value,
      channels: p.channels,
      startsAt: iso(p.startsAt),
      endsAt: p.endsAt === null ? null : iso(p.endsAt),
      live: isLive(p, now),
    })),
    channels: channelsOf(state, listed).map((channel) => {
      const told = lastTold(state, channel)
      const expected = expectedPrice(state, channel, now)
      const conflict = channelConflict(state, channel, now, deadlineMs)
      return {
        channel,
        price: told?.price ?? null,
        promotionId: told?.promotionId ?? null,
        toldAt: told ? iso(told.at) : null,
        expectedPrice: expected?.price ?? null,
        expectedPromotionId: expected?.promotion?.promotionId ?? null,
        ...publicationLag(state, channel, now),
        conflict: conflict ? conflictView(conflict, soldBy) : null,
      }
    }),
    publications: state.publications.map((p) => ({ ...p, at: iso(p.at) })),
  }
}
