import { PROMOTION_KINDS, type PriceState, type Promotion, type PromotionKind } from './prices.ts'
import { PRICE_EVENTS } from './vocabulary.ts'

/** A price or promotion event as read from the store, about one SKU (promotion events: one row per SKU named). */
export interface PriceEventRecord {
  readonly type: string
  /** Epoch milliseconds (ClickHouse answers a decimal string). */
  readonly time_ms: string
  readonly sku: string
  /** The `channel` extension (publications). */
  readonly channel: string
  /** The event's data, as JSON text. */
  readonly data: string
}

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
const strings = (v: unknown) => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [])

/** Promotions from their started and ended events: an ended event sets the end (early or not). */
function promotionsOf(rows: readonly PriceEventRecord[]): Map<string, Promotion[]> {
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
export function priceStates(rows: readonly PriceEventRecord[]): PriceState[] {
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
