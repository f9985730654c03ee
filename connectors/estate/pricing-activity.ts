import { MINUTE_MS } from '../../core/duration.ts'
import type { ChannelSimulator } from './channel.ts'
import { seededRandom } from './faults.ts'
import type { PricingSimulator } from './pricing.ts'

type Channels = Readonly<Record<'storefront' | 'marketplace' | 'pos', ChannelSimulator>>

/** Promotions target every channel, or online only, or the stores and the web shop. */
const AUDIENCES: readonly (readonly string[])[] = [[], ['storefront', 'marketplace'], ['storefront', 'pos']]

/**
 * The demo's pricing day: repricing and promotions at the source of truth and, at a low rate, the
 * troubles price syncs meet in the channels — a marketplace that keeps last week's price, store
 * tills that miss a promotion's start, a channel that goes on discounting after a promotion ended.
 * Each trouble is a channel refusing a SKU's price updates for a while (ChannelSimulator.priceLocks).
 */
export class PricingActivity {
  private readonly random: () => number
  private repricings = 0
  private promotions = 0
  private ends = 0

  constructor(
    private readonly pricing: PricingSimulator,
    private readonly channels: Channels,
    seed = 9,
    /** With troubles, each comes to about one price change in 12, one promotion start or end in 3. */
    private readonly troubles = true,
  ) {
    this.random = seededRandom(seed)
  }

  /** True about one time in `n`, never without troubles. */
  private oneIn(n: number): boolean {
    return this.troubles && this.random() * n < 1
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)] as T
  }

  /** Prices `n` SKUs, so promotions have something to discount from the start. */
  open(n = 12): void {
    for (let i = 0; i < n; i++) this.pricing.setPrice(...this.pricing.nextPriceChange())
  }

  reprice(): void {
    const [sku, price] = this.pricing.nextPriceChange()
    // The third repricing always meets the trouble, so a demo shows one within minutes.
    if ((this.troubles && ++this.repricings === 3) || this.oneIn(12))
      this.channels.marketplace.priceLocks.set(sku, {
        until: Date.now() + 15 * MINUTE_MS,
        reason: 'listing under price-parity review: the last accepted price stays live',
      })
    this.pricing.setPrice(sku, price)
  }

  promote(durationMs = 6 * MINUTE_MS): void {
    const priced = this.pricing.pricedSkus()
    if (priced.length === 0) return
    const skus = [
      ...new Set(Array.from({ length: 3 + Math.floor(this.random() * 3) }, () => this.pick(priced))),
    ]
    // The first promotion runs everywhere and the tills miss it, so a demo shows one within minutes.
    const first = this.troubles && this.promotions++ === 0
    const channels = first ? [] : this.pick(AUDIENCES)
    if (first || ((channels.length === 0 || channels.includes('pos')) && this.oneIn(3)))
      this.channels.pos.priceLocks.set(this.pick(skus), {
        until: Date.now() + durationMs + MINUTE_MS,
        reason: 'the store tills have not loaded this promotion',
        promotionsOnly: true,
      })
    this.pricing.startPromotion(
      { skus, channels, kind: 'percent', value: 10 + 5 * Math.floor(this.random() * 5) },
      durationMs,
    )
  }

  /** Ends the promotions whose time is up. */
  tick(): void {
    for (const p of this.pricing.endDuePromotions()) {
      // The first end always meets the trouble, so a demo shows one within minutes.
      if (!((this.troubles && ++this.ends === 1) || this.oneIn(3))) continue
      const channel =
        p.channels.length === 0 || p.channels.includes('marketplace') ? 'marketplace' : 'storefront'
      this.channels[channel].priceLocks.set(this.pick(p.skus), {
        until: Date.now() + 8 * MINUTE_MS,
        reason: 'price feed rejected: the promotion price is still in the channel’s deal calendar',
      })
    }
  }
}
