import type { Demo } from '../demo.ts'
import { PRICE_LIST, type Promotion } from '../estate/pricing.ts'
import type { Order } from '../order-to-cash/order.ts'
import { raisePurchaseOrder } from '../procure-to-receive/demo.ts'

/** One tick of a scenario: how many orders to place now, and how to deliver them. */
export interface Scenario {
  readonly name: string
  readonly description: string
  /** Called once a second with the elapsed share of the run (0…1); places that second's orders. */
  tick(
    demo: Demo,
    progress: number,
    perSecond: number,
    place: (order?: Order) => Promise<void>,
  ): Promise<void>
  /** Undoes what the scenario changed in the estate. */
  finish?(demo: Demo, place: (order?: Order) => Promise<void>): Promise<void>
}

const middle = (p: number) => p >= 0.25 && p < 0.75
const times = async (n: number, f: () => Promise<void>) => {
  await Promise.all(Array.from({ length: Math.max(0, Math.round(n)) }, f))
}

/** Held POS orders while the store is offline, delivered when it comes back. */
const heldForStore: Order[] = []

/** The SKUs a price-change storm launches its promotion on, and the promotion once launched. */
const STORM_SKUS = 1_000
const storm: { skus: string[]; promotion?: Promotion; ended?: boolean } = { skus: [] }

/** The supplier that falls behind in `supplier-late`, and how many purchase orders it has been sent. */
const LATE_SUPPLIER = 'NORTHWIND'
const late = { raised: 0 }
/** Which of the night's batch runs have run in a nightly-batch-failure run. */
const night = new Set<string>()
const NIGHT_STORES = ['STORE-LDN-01', 'STORE-MAN-02'] as const
let tillSales = 0

export const SCENARIOS: Record<string, Scenario> = {
  steady: {
    name: 'steady',
    description: 'orders at the configured rate, default fault rates',
    tick: (_, __, perSecond, place) => times(perSecond, () => place()),
  },
  'black-friday': {
    name: 'black-friday',
    description: 'a 20× order spike through the middle half of the run',
    tick: (_, p, perSecond, place) => times(middle(p) ? perSecond * 20 : perSecond, () => place()),
  },
  'erp-throttling': {
    name: 'erp-throttling',
    description: 'the ERP answers 429 to most calls through the middle half of the run',
    async tick(demo, p, perSecond, place) {
      demo.estate.erp.faults.throttleRate = middle(p) ? 0.8 : 0.05
      await times(perSecond, () => place())
    },
    async finish(demo) {
      demo.estate.erp.faults.throttleRate = 0.05
    },
  },
  'marketplace-retry-storm': {
    name: 'marketplace-retry-storm',
    description: 'the marketplace delivers every order webhook five times over',
    async tick(demo, _, perSecond, place) {
      await times(perSecond, async () => {
        const order = {
          ...demo.estate.storefront.nextOrder(),
          channel: 'marketplace' as const,
          fulfilment: 'ship' as const,
        }
        await times(5, () => place(order))
      })
    },
  },
  'store-outage': {
    name: 'store-outage',
    description: 'a POS store goes offline through the middle half, then catches up with its backlog',
    async tick(demo, p, perSecond, place) {
      await times(perSecond, async () => {
        const order = {
          ...demo.estate.storefront.nextOrder(),
          channel: 'pos' as const,
          storeId: 'STORE-LDN-01',
        }
        if (middle(p)) heldForStore.push(order)
        else await place(order)
      })
      if (p >= 0.75 && heldForStore.length > 0) await Promise.all(heldForStore.splice(0).map((o) => place(o)))
    },
    async finish(_, place) {
      await Promise.all(heldForStore.splice(0).map((o) => place(o)))
    },
  },
  'price-change-storm': {
    name: 'price-change-storm',
    description: `a promotion launch over ${STORM_SKUS} SKUs on every channel through the middle half of the run`,
    async tick(demo, p, perSecond, place) {
      const { pricing } = demo.estate
      if (storm.skus.length === 0) {
        // The range is priced first, so that the launch discounts from a price every channel shows.
        storm.skus = Array.from({ length: STORM_SKUS }, (_, i) => `SKU-${demo.estate.run}-${20_000 + i}`)
        for (const sku of storm.skus) pricing.setPrice(sku, 10 + (Number(sku.slice(-4)) % 90))
      }
      if (middle(p) && !storm.promotion)
        storm.promotion = pricing.startPromotion(
          { skus: storm.skus, channels: [], kind: 'percent', value: 20 },
          60 * 60_000,
        )
      if (p >= 0.75 && storm.promotion && !storm.ended) {
        pricing.endPromotion(storm.promotion.promotionId)
        storm.ended = true
      }
      await times(perSecond, () => place())
    },
    async finish(demo) {
      if (storm.promotion && !storm.ended) demo.estate.pricing.endPromotion(storm.promotion.promotionId)
      // Drains the storm: every channel back at the base price (or a minute has passed).
      const { pricing, channels } = demo.estate
      const settled = () =>
        storm.skus.every((sku) =>
          Object.entries(channels).every(
            ([name, ch]) =>
              ch.price(sku, PRICE_LIST)?.price === pricing.channelPrice(sku, PRICE_LIST, name)?.price,
          ),
        )
      for (let waited = 0; waited < 60_000 && !settled(); waited += 500)
        await new Promise((resolve) => setTimeout(resolve, 500))
      storm.skus = []
      storm.promotion = undefined
      storm.ended = undefined
    },
  },
  'supplier-late': {
    name: 'supplier-late',
    description: `a purchase order every 2 seconds; through the middle half ${LATE_SUPPLIER} acknowledges late or not at all and delivers short`,
    async tick(demo, p, perSecond, place) {
      const { supplierPortal, wms } = demo.estate
      supplierPortal.suppliers.set(
        LATE_SUPPLIER,
        middle(p)
          ? {
              ackAfterMs: 0,
              lateRate: 0.7,
              lateByMs: 30 * 60_000,
              missingAckRate: 0.3,
              shipAfterMs: 2_000,
              discrepancyRate: 0.5,
              asnErrorRate: 0.3,
            }
          : { ackAfterMs: 0, shipAfterMs: 2_000, discrepancyRate: 0, asnErrorRate: 0 },
      )
      if (late.raised++ % 2 === 0) raisePurchaseOrder(demo.estate, LATE_SUPPLIER)
      supplierPortal.advance()
      wms.receiveInbound()
      await times(perSecond, () => place())
    },
    async finish(demo) {
      demo.estate.supplierPortal.suppliers.delete(LATE_SUPPLIER)
      late.raised = 0
    },
  },
  'nightly-batch-failure': {
    name: 'nightly-batch-failure',
    description:
      'store sales all run; the ERP goes down through the middle half: a store’s nightly posting fails and is not run again (a missed run), orders go unposted, and the daily export runs once it is back',
    async tick(demo, p, perSecond, place) {
      const { batches, estate } = demo
      estate.erp.faults.outage = middle(p)
      const once = async (key: string, f: () => Promise<unknown>) => {
        if (night.has(key)) return
        night.add(key)
        await f()
      }
      // Till sales at two stores, as a store's POS records them through the day.
      await times(perSecond, async () => {
        const storeId = NIGHT_STORES[tillSales++ % NIGHT_STORES.length]
        const sale = { ...estate.storefront.nextOrder(), channel: 'pos' as const, storeId }
        batches.recordSale(sale)
        await place(sale)
      })
      if (p >= 0.1) await once('man', () => batches.run(batches.job('store-sales-posting.STORE-MAN-02')))
      if (p >= 0.5) await once('ldn', () => batches.run(batches.job('store-sales-posting.STORE-LDN-01')))
      if (p >= 0.8) await once('export', () => batches.run(batches.job('erp-daily-export')))
    },
    async finish(demo) {
      demo.estate.erp.faults.outage = false
      night.clear()
    },
  },
}
