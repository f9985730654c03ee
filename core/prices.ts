import { MINUTE_MS } from './duration.ts'
import type { FlowDefinition } from './flows.ts'

/**
 * Prices and promotions across channels: what the source of truth (the ERP or a pricing service)
 * says a SKU costs on a price list, with the promotions live on it, against what each channel was
 * last told. The rules live here once, so the api's views and the alert rule agree.
 */

export const PRICE_FLOW = 'price_sync'
/** The CloudEvents extension naming the channel a price was published to. */
export const CHANNEL_EXTENSION = 'channel'
/** How long a channel may take to show the effective price when flows.yaml says nothing. */
export const DEFAULT_PRICE_DEADLINE_MS = 5 * MINUTE_MS

export const PROMOTION_KINDS = ['percent', 'amount', 'fixed_price'] as const
export type PromotionKind = (typeof PROMOTION_KINDS)[number]

export const CONFLICT_KINDS = ['price_mismatch', 'promotion_missing', 'promotion_not_ended'] as const
export type ConflictKind = (typeof CONFLICT_KINDS)[number]

/** A price on a price list at the source of truth. Times are epoch milliseconds. */
export interface PriceChange {
  /** When the source of truth recorded it (the event's time). */
  readonly at: number
  readonly price: number
  readonly currency: string
  readonly effectiveAt: number
}

export interface Promotion {
  readonly promotionId: string
  /** The channels it targets; empty targets every channel. */
  readonly channels: readonly string[]
  readonly kind: PromotionKind
  readonly value: number
  readonly startsAt: number
  /** When it ends: its planned end, or earlier when it was ended early. Null while open-ended. */
  readonly endsAt: number | null
}

/** What a channel was told. */
export interface Publication {
  readonly channel: string
  readonly at: number
  readonly price: number
  readonly promotionId: string | null
}

/** One SKU on one price list: the source of truth's history and the channels' publications. */
export interface PriceState {
  readonly sku: string
  readonly priceList: string
  readonly changes: readonly PriceChange[]
  readonly promotions: readonly Promotion[]
  /** Oldest first. */
  readonly publications: readonly Publication[]
}

export interface PriceConflict {
  readonly sku: string
  readonly priceList: string
  readonly channel: string
  readonly kind: ConflictKind
  /** Since when the channel has been wrong (epoch ms). */
  readonly since: number
  readonly shownPrice: number | null
  readonly expectedPrice: number
  readonly currency: string
  readonly promotionId: string | null
  /** What each unit sold on the channel meanwhile is off by; null when the channel was never told. */
  readonly perUnit: number | null
}

const cents = (n: number) => Math.round(n * 100)
const samePrice = (a: number, b: number) => cents(a) === cents(b)
export const round2 = (n: number) => cents(n) / 100

/** The deadline for a channel to show a new price: the price flow's `published` stage limit. */
export function priceDeadlineMs(flows: ReadonlyMap<string, FlowDefinition>): number {
  const stage = flows.get(PRICE_FLOW)?.stages.find((s) => s.name === 'published')
  return stage?.maxDelayMs ?? DEFAULT_PRICE_DEADLINE_MS
}

export function promotionPrice(base: number, p: Pick<Promotion, 'kind' | 'value'>): number {
  if (p.kind === 'percent') return round2(base * (1 - p.value / 100))
  if (p.kind === 'amount') return round2(Math.max(0, base - p.value))
  return round2(p.value)
}

export const targets = (p: Promotion, channel: string) =>
  p.channels.length === 0 || p.channels.includes(channel)
export const isLive = (p: Promotion, t: number) => p.startsAt <= t && (p.endsAt === null || t < p.endsAt)

/** The base price in force at `t` and since when the source of truth had it (not before it recorded it). */
export function basePriceAt(changes: readonly PriceChange[], t: number) {
  let best: PriceChange | undefined
  for (const c of changes)
    if (
      c.effectiveAt <= t &&
      (!best || c.effectiveAt > best.effectiveAt || (c.effectiveAt === best.effectiveAt && c.at >= best.at))
    )
      best = c
  return best && { price: best.price, currency: best.currency, since: Math.max(best.effectiveAt, best.at) }
}

/** The price a channel should show at `t`: the base price, less the best promotion live for it. */
export function expectedPrice(state: PriceState, channel: string, t: number) {
  const base = basePriceAt(state.changes, t)
  if (!base) return undefined
  let price = base.price
  let promotion: Promotion | null = null
  let since = base.since
  for (const p of state.promotions) {
    if (!targets(p, channel)) continue
    // The expected price last changed at the latest promotion boundary passed for this channel.
    if (p.startsAt <= t) since = Math.max(since, p.startsAt)
    if (p.endsAt !== null && p.endsAt <= t) since = Math.max(since, p.endsAt)
    if (!isLive(p, t)) continue
    const offer = promotionPrice(base.price, p)
    if (offer < price) {
      price = offer
      promotion = p
    }
  }
  return { price, currency: base.currency, promotion, since }
}

/**
 * The channels a state concerns: those told a price, those its promotions name, and those the price
 * list is published to (`listed`: a channel never told this SKU's price has not shown it).
 */
export function channelsOf(state: PriceState, listed: readonly string[] = []): string[] {
  return [
    ...new Set([
      ...listed,
      ...state.publications.map((p) => p.channel),
      ...state.promotions.flatMap((p) => p.channels),
    ]),
  ].sort()
}

/** Per price list, the channels any SKU's price on it was published to. */
export function listedChannels(states: readonly PriceState[]): Map<string, string[]> {
  const byList = new Map<string, Set<string>>()
  for (const s of states) {
    const channels = byList.get(s.priceList) ?? new Set<string>()
    for (const p of s.publications) channels.add(p.channel)
    byList.set(s.priceList, channels)
  }
  return new Map([...byList].map(([list, channels]) => [list, [...channels]]))
}

export const lastTold = (state: PriceState, channel: string) =>
  state.publications.findLast((p) => p.channel === channel)

/**
 * The channel's conflict with the source of truth at `now`, once past the deadline: a promotion live
 * at the source but not on the channel, a channel still discounting after its promotion ended, or a
 * channel showing another price than the effective one.
 */
export function channelConflict(
  state: PriceState,
  channel: string,
  now: number,
  deadlineMs: number,
): PriceConflict | undefined {
  const expected = expectedPrice(state, channel, now)
  if (!expected) return undefined
  const told = lastTold(state, channel)
  const conflict = (kind: ConflictKind, since: number, promotionId: string | null): PriceConflict => ({
    sku: state.sku,
    priceList: state.priceList,
    channel,
    kind,
    since,
    shownPrice: told ? told.price : null,
    expectedPrice: expected.price,
    currency: expected.currency,
    promotionId,
    perUnit: told ? round2(Math.abs(told.price - expected.price)) : null,
  })
  const live = expected.promotion
  if (live && told?.promotionId !== live.promotionId) {
    return now - live.startsAt > deadlineMs
      ? conflict('promotion_missing', live.startsAt, live.promotionId)
      : undefined
  }
  if (told?.promotionId && told.promotionId !== live?.promotionId) {
    const ended = state.promotions.find((p) => p.promotionId === told.promotionId)
    if (ended?.endsAt != null && ended.endsAt <= now)
      return now - ended.endsAt > deadlineMs
        ? conflict('promotion_not_ended', Math.max(ended.endsAt, told.at), ended.promotionId)
        : undefined
  }
  if ((!told || !samePrice(told.price, expected.price)) && now - expected.since > deadlineMs)
    return conflict('price_mismatch', Math.max(expected.since, told?.at ?? 0), null)
  return undefined
}

/** Every channel's conflict at `now`. */
export function priceConflicts(
  state: PriceState,
  now: number,
  deadlineMs: number,
  listed: readonly string[] = [],
): PriceConflict[] {
  return channelsOf(state, listed).flatMap((c) => channelConflict(state, c, now, deadlineMs) ?? [])
}

/**
 * How long the channel took to show the price expected now (from when the source of truth had it),
 * or, while it still does not, how long it has been waiting.
 */
export function publicationLag(state: PriceState, channel: string, now: number) {
  const expected = expectedPrice(state, channel, now)
  if (!expected) return { upToDate: true, lagMs: null }
  const promotionId = expected.promotion?.promotionId ?? null
  const reached = state.publications.find(
    (p) =>
      p.channel === channel &&
      p.at >= expected.since &&
      samePrice(p.price, expected.price) &&
      (p.promotionId ?? null) === promotionId,
  )
  const told = lastTold(state, channel)
  const showsIt =
    told !== undefined && samePrice(told.price, expected.price) && (told.promotionId ?? null) === promotionId
  if (reached) return { upToDate: showsIt, lagMs: reached.at - expected.since }
  return { upToDate: showsIt, lagMs: showsIt ? 0 : now - expected.since }
}
