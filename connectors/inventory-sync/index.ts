import { INVENTORY_EVENTS } from '../../core/vocabulary.ts'
import type { StockChange } from '../estate/erp.ts'
import { SALES_CHANNELS, type SalesChannel } from '../estate/index.ts'
import { Connector, followFeed, type RetryPolicy } from '../sdk/index.ts'

export interface InventorySyncOptions {
  /** The connector's id in Signalbox (default `inventory-sync`); a second instance needs its own. */
  readonly id?: string
  readonly collectorUrl: string
  readonly apiUrl: string
  readonly erpUrl: string
  readonly channelUrls: Readonly<Record<SalesChannel, string>>
  readonly retry?: RetryPolicy
  /** Signalbox's ingestion key, when it requires one. */
  readonly ingestKey?: string
}

const FLOW = 'inventory_sync'
const entity = (c: StockChange) => ({ type: 'sku' as const, id: c.sku })
/** One stock change is one unit of work: a SKU changes many times, each published once. */
const unit = (c: StockChange) => `${c.sku}@${c.location}#${c.id}`
const extensions = (c: StockChange, system: string) => ({
  sku: c.sku,
  locationid: c.location,
  system,
  flow: FLOW,
})

/**
 * Inventory sync: each stock change at the source of truth (the ERP's change feed) is recorded as
 * `retail.inventory.adjusted`, then the available-to-sell quantity is published to every sales
 * channel side by side, each reporting `retail.inventory.published` with the quantity it was told —
 * what Signalbox compares to measure lag and drift per channel.
 */
export function inventorySyncConnector(options: InventorySyncOptions): Connector {
  const connector = new Connector({
    id: options.id ?? 'inventory-sync',
    system: 'erp',
    collectorUrl: options.collectorUrl,
    apiUrl: options.apiUrl,
    retry: options.retry,
    ingestKey: options.ingestKey,
  })
  connector.step<StockChange>('record_adjustment', {
    flow: FLOW,
    stage: 'adjusted',
    entity,
    unit,
    next: SALES_CHANNELS.map((c) => `publish_${c}`),
    run: async (c, ctx) => {
      await ctx.emit({
        type: INVENTORY_EVENTS.adjusted,
        subject: c.sku,
        data: { sku: c.sku, location: c.location, on_hand: c.onHand, available: c.available, change: c.id },
        extensions: extensions(c, 'erp'),
      })
    },
  })
  for (const channel of SALES_CHANNELS) {
    connector.step<StockChange>(`publish_${channel}`, {
      flow: FLOW,
      stage: 'published',
      entity,
      unit: (c) => `${unit(c)}:${channel}`,
      run: async (c, ctx) => {
        await ctx.call(channel, {
          method: 'PUT',
          url: `${options.channelUrls[channel]}/stock/${encodeURIComponent(c.sku)}`,
          route: '/stock/{sku}',
          body: { location: c.location, quantity: c.available },
        })
        await ctx.emit({
          type: INVENTORY_EVENTS.published,
          subject: c.sku,
          data: { sku: c.sku, location: c.location, channel, quantity: c.available, change: c.id },
          extensions: extensions(c, channel),
        })
      },
    })
  }
  return connector
}

/** Starts a sync for each change in the ERP's stock change feed. Returns a stop function. */
export function followStockChanges(connector: Connector, erpUrl: string, intervalMs: number): () => void {
  return followFeed<StockChange>(
    `${erpUrl}/api/inventory/changes`,
    (change) => void connector.run('record_adjustment', change),
    intervalMs,
  )
}
