import { Hono } from 'hono'
import { type Faults, faultInjection, NO_FAULTS, seededRandom } from './faults.ts'
import { feedPage } from './feed.ts'

export type PromotionKind = 'percent' | 'amount' | 'fixed_price'

export interface Promotion {
  readonly promotionId: string
  readonly skus: readonly string[]
  /** The channels it runs on; empty: every channel. */
  readonly channels: readonly string[]
  readonly kind: PromotionKind
  readonly value: number
  readonly startsAt: string
  readonly endsAt: string
}

/** One entry of the pricing service's change feed: a price set on a price list, or a promotion starting or ending. */
export type PricingChange =
  | {
      readonly id: number
      readonly kind: 'price'
      readonly sku: string
      readonly priceList: string
      readonly price: number
      readonly currency: string
      readonly effectiveAt: string
      readonly at: string
    }
  | {
      readonly id: number
      readonly kind: 'promotion_started' | 'promotion_ended'
      readonly promotion: Promotion
      readonly at: string
    }

/** A change before the feed gives it its id and time (each member of the union on its own). */
type Unstamped<C> = C extends PricingChange ? Omit<C, 'id' | 'at'> : never

export const PRICE_LIST = 'GB-RETAIL'
const round2 = (n: number) => Math.round(n * 100) / 100

function offer(base: number, p: Promotion): number {
  if (p.kind === 'percent') return round2(base * (1 - p.value / 100))
  if (p.kind === 'amount') return round2(Math.max(0, base - p.value))
  return round2(p.value)
}

/**
 * The pricing service (the ERP's price lists and promotions): the source of truth for what each SKU
 * costs on each price list, and for promotions. A change feed (`GET /api/pricing/changes?after=`)
 * lists every change; `GET /api/pricing/channel-prices/{sku}?priceList=&channel=` answers what a
 * channel should show now — the base price less the best promotion live on that channel.
 */
export class PricingSimulator {
  faults: Faults = { ...NO_FAULTS }
  readonly random: () => number
  private readonly prices = new Map<string, { price: number; currency: string }>()
  private readonly promotions = new Map<string, Promotion>()
  private readonly ended = new Set<string>()
  private readonly changes: PricingChange[] = []
  private readonly firstChangeId = Date.now()
  private nextPromotion = 1

  constructor(seed = 8) {
    this.random = seededRandom(seed)
  }

  private record(change: Unstamped<PricingChange>): PricingChange {
    const c = {
      ...change,
      id: this.firstChangeId + this.changes.length,
      at: new Date().toISOString(),
    } as PricingChange
    this.changes.push(c)
    return c
  }

  /** Sets a SKU's price on a price list, effective now. */
  setPrice(sku: string, price: number, priceList = PRICE_LIST, currency = 'GBP'): PricingChange {
    this.prices.set(`${sku}@${priceList}`, { price: round2(price), currency })
    const now = new Date().toISOString()
    return this.record({ kind: 'price', sku, priceList, price: round2(price), currency, effectiveAt: now })
  }

  /** Starts a promotion now, for `durationMs`. */
  startPromotion(p: Omit<Promotion, 'promotionId' | 'startsAt' | 'endsAt'>, durationMs: number): Promotion {
    const now = Date.now()
    const promotion: Promotion = {
      ...p,
      promotionId: `PROMO-${this.firstChangeId.toString(36).slice(-4).toUpperCase()}-${this.nextPromotion++}`,
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + durationMs).toISOString(),
    }
    this.promotions.set(promotion.promotionId, promotion)
    this.record({ kind: 'promotion_started', promotion })
    return promotion
  }

  /** Ends the promotions whose time is up (recorded once each). */
  endDuePromotions(now = Date.now()): Promotion[] {
    const due = [...this.promotions.values()].filter(
      (p) => !this.ended.has(p.promotionId) && Date.parse(p.endsAt) <= now,
    )
    for (const p of due) this.endPromotion(p.promotionId)
    return due
  }

  /** Ends a promotion now, before its planned end (recorded once). */
  endPromotion(promotionId: string): void {
    const p = this.promotions.get(promotionId)
    if (!p || this.ended.has(promotionId)) return
    this.ended.add(promotionId)
    const now = new Date().toISOString()
    const ended = now < p.endsAt ? { ...p, endsAt: now } : p
    this.promotions.set(promotionId, ended)
    this.record({ kind: 'promotion_ended', promotion: ended })
  }

  /** SKUs with a price on the list. */
  pricedSkus(priceList = PRICE_LIST): string[] {
    return [...this.prices.keys()]
      .filter((k) => k.endsWith(`@${priceList}`))
      .map((k) => k.slice(0, k.lastIndexOf('@')))
  }

  /** What a channel should show now, or undefined for a SKU without a price on the list. */
  channelPrice(sku: string, priceList: string, channel: string, now = Date.now()) {
    const base = this.prices.get(`${sku}@${priceList}`)
    if (!base) return undefined
    let price = base.price
    let promotionId: string | null = null
    for (const p of this.promotions.values()) {
      const live =
        Date.parse(p.startsAt) <= now && now < Date.parse(p.endsAt) && !this.ended.has(p.promotionId)
      if (!live || !p.skus.includes(sku) || (p.channels.length > 0 && !p.channels.includes(channel))) continue
      const o = offer(base.price, p)
      if (o < price) {
        price = o
        promotionId = p.promotionId
      }
    }
    return { sku, priceList, price, currency: base.currency, promotionId }
  }

  /** A plausible repricing: a SKU of the range moved by up to 15%. */
  nextPriceChange(): [sku: string, price: number] {
    const sku = `SKU-${10_000 + Math.floor(this.random() * 500)}`
    const current = this.prices.get(`${sku}@${PRICE_LIST}`)?.price ?? 5 + Math.floor(this.random() * 115)
    return [sku, Math.max(1, current * (0.85 + this.random() * 0.3))]
  }

  readonly app = new Hono()
    .use(faultInjection(this, 'pricing'))
    .get('/api/pricing/changes', (c) => feedPage(c, this.changes))
    .get('/api/pricing/channel-prices/:sku', (c) => {
      const sku = c.req.param('sku')
      const priceList = c.req.query('priceList') ?? PRICE_LIST
      const answer = this.channelPrice(sku, priceList, c.req.query('channel') ?? '')
      return answer ? c.json(answer) : c.json({ error: `no price for ${sku} on ${priceList}` }, 404)
    })
}
