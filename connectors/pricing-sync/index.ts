import { PRICE_EVENTS } from '../../core/vocabulary.ts'
import { SALES_CHANNELS, type SalesChannel } from '../estate/index.ts'
import { PRICE_LIST, type PricingChange } from '../estate/pricing.ts'
import { Connector, followFeed, type RetryPolicy } from '../sdk/index.ts'

export interface PricingSyncOptions {
  /** The connector's id in Signalbox (default `pricing-sync`); a second instance needs its own. */
  readonly id?: string
  readonly collectorUrl: string
  readonly apiUrl: string
  readonly pricingUrl: string
  readonly channelUrls: Readonly<Record<SalesChannel, string>>
  readonly retry?: RetryPolicy
  /** Signalbox's ingestion key, when it requires one. */
  readonly ingestKey?: string
}

/**
 * One SKU's share of a change at the source of truth: a new price on a price list, or a promotion
 * starting or ending (a promotion over many SKUs is one unit of work per SKU).
 */
export interface PriceWork {
  /** The change's id in the pricing service's feed. */
  readonly change: number
  readonly sku: string
  readonly priceList: string
  /** The channels to publish to: every channel for a price, the promotion's own for a promotion. */
  readonly channels: readonly string[]
  readonly event: { readonly type: string; readonly data: Record<string, unknown> }
}

const FLOW = 'price_sync'
const entity = (w: PriceWork) => ({ type: 'sku' as const, id: w.sku })
const unit = (w: PriceWork) => `${w.sku}@${w.priceList}#${w.change}`
const extensions = (w: PriceWork, system: string) => ({ sku: w.sku, system, flow: FLOW })

/** A feed entry → the work per SKU, with the event the source of truth's change is recorded as. */
export function priceWork(change: PricingChange): PriceWork[] {
  if (change.kind === 'price') {
    const { sku, priceList, price, currency, effectiveAt } = change
    return [
      {
        change: change.id,
        sku,
        priceList,
        channels: SALES_CHANNELS,
        event: { type: PRICE_EVENTS.changed, data: { sku, priceList, price, currency, effectiveAt } },
      },
    ]
  }
  const p = change.promotion
  const type =
    change.kind === 'promotion_started' ? PRICE_EVENTS.promotionStarted : PRICE_EVENTS.promotionEnded
  const channels = p.channels.length > 0 ? p.channels : SALES_CHANNELS
  return p.skus.map((sku) => ({
    change: change.id,
    sku,
    priceList: PRICE_LIST,
    channels,
    // Reported once per SKU, each naming its own SKU: a launch over thousands of SKUs stays linear.
    event: {
      type,
      data: {
        promotionId: p.promotionId,
        skus: [sku],
        channels,
        kind: p.kind,
        value: p.value,
        startsAt: p.startsAt,
        endsAt: p.endsAt,
      },
    },
  }))
}

/**
 * Pricing sync: each change at the source of truth (the pricing service's change feed) is recorded
 * as `retail.price.changed` or `retail.promotion.started|ended`, then the price each channel should
 * now show (the pricing service's answer: base price less the best live promotion) is published to
 * every channel concerned side by side, each reporting `retail.price.published` with what it was told.
 */
export function pricingSyncConnector(options: PricingSyncOptions): Connector {
  const connector = new Connector({
    id: options.id ?? 'pricing-sync',
    system: 'pricing',
    collectorUrl: options.collectorUrl,
    apiUrl: options.apiUrl,
    retry: options.retry,
    ingestKey: options.ingestKey,
  })
  connector.step<PriceWork>('record_price_change', {
    flow: FLOW,
    stage: 'changed',
    entity,
    unit,
    next: SALES_CHANNELS.map((c) => `publish_${c}`),
    run: async (w, ctx) => {
      await ctx.emit({
        type: w.event.type,
        subject: w.sku,
        data: w.event.data,
        extensions: extensions(w, 'pricing'),
      })
    },
  })
  for (const channel of SALES_CHANNELS) {
    connector.step<PriceWork>(`publish_${channel}`, {
      flow: FLOW,
      stage: 'published',
      entity,
      unit: (w) => `${unit(w)}:${channel}`,
      run: async (w, ctx) => {
        if (!w.channels.includes(channel)) return
        // What the channel should show now, not what the change said: a replay publishes today's price.
        const shown = await ctx.call<{ price: number; promotionId: string | null }>('pricing', {
          method: 'GET',
          url: `${options.pricingUrl}/api/pricing/channel-prices/${encodeURIComponent(w.sku)}?priceList=${encodeURIComponent(w.priceList)}&channel=${channel}`,
          route: '/api/pricing/channel-prices/{sku}',
        })
        await ctx.call(channel, {
          method: 'PUT',
          url: `${options.channelUrls[channel]}/prices/${encodeURIComponent(w.sku)}`,
          route: '/prices/{sku}',
          body: { priceList: w.priceList, price: shown.price, promotionId: shown.promotionId },
        })
        await ctx.emit({
          type: PRICE_EVENTS.published,
          subject: w.sku,
          data: {
            sku: w.sku,
            priceList: w.priceList,
            price: shown.price,
            ...(shown.promotionId ? { promotionId: shown.promotionId } : {}),
          },
          extensions: { ...extensions(w, channel), channel },
        })
      },
    })
  }
  return connector
}

/** Starts a sync for each SKU of each change in the pricing service's feed. Returns a stop function. */
export function followPriceChanges(connector: Connector, pricingUrl: string, intervalMs: number): () => void {
  return followFeed<PricingChange>(
    `${pricingUrl}/api/pricing/changes`,
    (change) => {
      for (const w of priceWork(change)) void connector.run('record_price_change', w)
    },
    intervalMs,
  )
}
