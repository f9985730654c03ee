import {
  basePriceAt,
  channelConflict,
  channelsOf,
  expectedPrice,
  isLive,
  lastTold,
  PRICE_EVENTS,
  PROMOTION_KINDS,
  type PriceConflict,
  type PriceState,
  type Promotion,
  type PromotionKind,
  publicationLag,
  round2,
} from '../core/prices.ts'
import type { PriceEventRow, UnitsSoldRow } from '../store/queries/prices.ts'

const json = (text: string): Record<string, unknown> => {
  try {
    const v = JSON.parse(text) as unknown
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}
const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number.NaN)
const str = (v: unknown) => (typeof v === 'string' ? v : '')
const time = (v: unknown, fallback: number) => {
  const ms = typeof v === 'string' ? Date.parse(v) : Number.NaN
  return Number.isNaN(ms) ? fallback : ms
}
const iso = (ms: number) => new Date(ms).toISOString()
const strings = (v: unknown) => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [])

/** Promotions from their started and ended events: an ended event sets the end (early or not). */
function promotionsOf(rows: readonly PriceEventRow[]): Map<string, Promotion[]> {
  const bySku = new Map<string, Map<string, Promotion>>()
  for (const r of rows) {
    if (r.type !== PRICE_EVENTS.promotionStarted && r.type !== PRICE_EVENTS.promotionEnded) continue
    const d = json(r.data)
    const id = str(d.promotionId)
    if (!id) continue
    const at = Number(r.time_ms)
    const promotions = bySku.get(r.sku) ?? new Map<string, Promotion>()
    bySku.set(r.sku, promotions)
    const known = promotions.get(id)
    const kind = (PROMOTION_KINDS as readonly string[]).includes(str(d.kind))
      ? (str(d.kind) as PromotionKind)
      : 'percent'
    if (r.type === PRICE_EVENTS.promotionStarted) {
      const plannedEnd = d.endsAt ? time(d.endsAt, Number.NaN) : Number.NaN
      promotions.set(id, {
        promotionId: id,
        channels: strings(d.channels),
        kind,
        value: num(d.value),
        startsAt: time(d.startsAt, at),
        endsAt: known?.endsAt ?? (Number.isNaN(plannedEnd) ? null : plannedEnd),
      })
    } else {
      const ended = Math.min(time(d.endsAt, at), at)
      promotions.set(id, {
        promotionId: id,
        channels: known?.channels ?? strings(d.channels),
        kind: known?.kind ?? kind,
        value: known?.value ?? num(d.value),
        startsAt: known?.startsAt ?? time(d.startsAt, at),
        endsAt: known?.endsAt != null ? Math.min(known.endsAt, ended) : ended,
      })
    }
  }
  return new Map([...bySku].map(([sku, m]) => [sku, [...m.values()]]))
}

/** Rows of price events → one state per SKU and price list. */
export function priceStates(rows: readonly PriceEventRow[]): PriceState[] {
  const promotions = promotionsOf(rows)
  const states = new Map<
    string,
    {
      sku: string
      priceList: string
      changes: PriceState['changes'][number][]
      publications: PriceState['publications'][number][]
    }
  >()
  const stateOf = (sku: string, priceList: string) => {
    const key = `${sku}\u0000${priceList}`
    let s = states.get(key)
    if (!s) {
      s = { sku, priceList, changes: [], publications: [] }
      states.set(key, s)
    }
    return s
  }
  for (const r of rows) {
    const d = json(r.data)
    const at = Number(r.time_ms)
    if (r.type === PRICE_EVENTS.changed) {
      const price = num(d.price)
      if (Number.isNaN(price)) continue
      stateOf(r.sku, str(d.priceList)).changes.push({
        at,
        price,
        currency: str(d.currency),
        effectiveAt: time(d.effectiveAt, at),
      })
    } else if (r.type === PRICE_EVENTS.published) {
      const price = num(d.price)
      const channel = r.channel || str(d.channel)
      if (Number.isNaN(price) || !channel) continue
      stateOf(r.sku, str(d.priceList)).publications.push({
        channel,
        at,
        price,
        promotionId: str(d.promotionId) || null,
      })
    }
  }
  return [...states.values()]
    .map((s) => ({ ...s, promotions: promotions.get(s.sku) ?? [] }))
    .sort((a, b) => a.sku.localeCompare(b.sku) || a.priceList.localeCompare(b.priceList))
}

/** Web and app orders are storefront sales. */
const salesChannel = (orderChannel: string) =>
  orderChannel === 'web' || orderChannel === 'app' ? 'storefront' : orderChannel

/** A conflict as the api shows it, with the units sold on the channel since and the revenue at risk. */
export function conflictView(c: PriceConflict, sold: readonly UnitsSoldRow[] | undefined) {
  const units = sold
    ?.filter((s) => s.sku === c.sku && salesChannel(s.channel) === c.channel && Number(s.time_ms) >= c.since)
    .reduce((n, s) => n + Number(s.quantity), 0)
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
    revenueAtRisk: units === undefined ? null : round2(units * c.perUnit),
  }
}

/**
 * One SKU on one price list: the price and promotions at the source of truth over time, what each
 * channel was last told and when, the publication lag of the price expected now, and its conflict.
 */
export function priceView(state: PriceState, now: number, deadlineMs: number, sold: readonly UnitsSoldRow[]) {
  const base = basePriceAt(state.changes, now)
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
    channels: channelsOf(state).map((channel) => {
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
        conflict: conflict ? conflictView(conflict, sold) : null,
      }
    }),
    publications: state.publications.map((p) => ({ ...p, at: iso(p.at) })),
  }
}
