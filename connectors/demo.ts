import { randomBytes } from 'node:crypto'
import { EstateBatches } from './estate/batches.ts'
import { GovernanceActivity } from './estate/governance.ts'
import { type Estate, startEstate } from './estate/index.ts'
import { PosReservations } from './estate/pos-reservations.ts'
import { tellPreviousDay } from './estate/previous-day.ts'
import { PricingActivity } from './estate/pricing-activity.ts'
import { type Served, serveOnLoopback } from './estate/serve.ts'
import { followWarehouse, fulfilmentConnector } from './fulfilment/index.ts'
import { followStockChanges, inventorySyncConnector } from './inventory-sync/index.ts'
import { orderToCashConnector, orderWebhookApp } from './order-to-cash/index.ts'
import type { Order } from './order-to-cash/order.ts'
import { followPriceChanges, pricingSyncConnector } from './pricing-sync/index.ts'
import { DEMO_SUPPLIERS, raisePurchaseOrder } from './procure-to-receive/demo.ts'
import { followProcurement, procureToReceiveConnector } from './procure-to-receive/index.ts'
import { type Return, returnToRefundConnector, returnWebhookApp } from './return-to-refund/index.ts'
import { type Connector, callbackApp, type RetryPolicy } from './sdk/index.ts'

export interface DemoOptions {
  readonly collectorUrl: string
  readonly apiUrl: string
  /** Orders per minute placed by the storefront. */
  readonly ordersPerMinute: number
  readonly seed?: number
  /** Callback signing secrets (Standard Webhooks, base64); a random one when not given. */
  readonly callbackSecrets?: readonly string[]
  readonly retry?: RetryPolicy
  /** Signalbox's ingestion key, when it requires one (SIGNALBOX_AUTH=tokens). */
  readonly ingestKey?: string
  /**
   * Appended to each connector's id (`-load`: `order-to-cash-load`), so a second estate beside a
   * running demo registers connectors of its own instead of asking for the demo's.
   */
  readonly connectorIdSuffix?: string
  /**
   * The estate's troubles (estate/incidents.ts), and, on the timers, the ERP's maintenance windows and
   * the marketplace's listing reviews (DEMO_SCHEDULE). On unless turned off.
   */
  readonly incidents?: boolean
  /**
   * Signs the carrier's tracking webhooks to Signalbox's `/v1/webhooks/carrier`: the secret the
   * collector knows as SIGNALBOX_WEBHOOK_SECRET_CARRIER (read from the environment when not given).
   * Without one the carrier sends no tracking, and shipped orders are never delivered.
   */
  readonly carrierWebhookSecret?: string
}

/** When the estate's scheduled troubles come, from the demo's start, while orders flow. */
export const DEMO_SCHEDULE = {
  /** The ERP's planned maintenance: a burst of exceptions, fixed by a bulk replay once it is over. */
  erpMaintenance: { firstAfterMs: 60_000, everyMs: 8 * 60_000, forMs: 30_000 },
  /** The marketplace reviews the bestseller's listing: its stock updates are refused (drift). */
  listingReview: { firstAfterMs: 30_000, everyMs: 20 * 60_000, forMs: 6 * 60_000 },
  /** The pricing service reprices a SKU, and launches a promotion (estate/pricing-activity.ts). */
  repricing: { firstAfterMs: 5_000, everyMs: 10_000 },
  promotion: { firstAfterMs: 15_000, everyMs: 90_000 },
  /** The ERP raises a purchase order for replenishment (procure-to-receive/demo.ts). */
  purchaseOrder: { firstAfterMs: 10_000, everyMs: 45_000 },
  /** A store's till goes offline: its next sales posting does not run (a missed batch run). */
  tillOffline: { firstAfterMs: 3 * 60_000, everyMs: 15 * 60_000 },
  /** A store's till reserves stock; one reservation in four breaks its contract (estate/pos-reservations.ts). */
  posReservation: { firstAfterMs: 10_000, everyMs: 15_000 },
  /** A deploy pipeline ships a connector's next version; a service nobody catalogued runs (estate/governance.ts). */
  deploy: { firstAfterMs: 90_000, everyMs: 12 * 60_000 },
  unownedExport: { firstAfterMs: 10_000, everyMs: 20_000 },
  /** The loyalty system goes down for a while: points owed pile up as exceptions, orders go on. */
  loyaltyOutage: { firstAfterMs: 4 * 60_000, everyMs: 17 * 60_000, forMs: 45_000 },
  /** The carrier's tracking feed falls behind: its webhooks arrive minutes after the fact. */
  lateTracking: { firstAfterMs: 6 * 60_000, everyMs: 23 * 60_000, forMs: 3 * 60_000, delayMs: 2 * 60_000 },
} as const

/**
 * The tax engine, carrier and loyalty system's everyday fault rates in the demo: low, so the system
 * map shows each with the odd failure, and now and then a blocked capture, a delivery never confirmed
 * or a failed delivery attempt (incidents.ts aside).
 */
export const DEMO_ESTATE_FAULTS = {
  tax: { errorRate: 0.005, throttleRate: 0, outage: false },
  carrier: { errorRate: 0.005, throttleRate: 0.01, outage: false },
  tracking: { missedConfirmationRate: 0.03, exceptionRate: 0.03, delayMs: 0 },
  loyalty: { errorRate: 0.01, throttleRate: 0, outage: false },
} as const

export interface Demo {
  readonly estate: Estate
  readonly orderToCash: Connector
  readonly inventorySync: Connector
  readonly pricingSync: Connector
  readonly fulfilment: Connector
  readonly returnToRefund: Connector
  readonly procureToReceive: Connector
  /** The scheduled batches: store sales postings and the ERP's daily export (estate/batches.ts). */
  readonly batches: EstateBatches
  readonly returnsUrl: string
  readonly webhookUrl: string
  readonly callbackUrl: string
  readonly callbackSecrets: readonly string[]
  /** Places one order now, the next one or the one given (scenarios, tests); the timer places the steady flow. */
  placeOrder(order?: Order): ReturnType<Estate['storefront']['placeOrder']>
  /** Returns (part of) an order now. */
  placeReturn(order: Order, reason?: Return['reason']): Promise<{ ret: Return; status: number }>
  /**
   * Starts nothing more (timers, change feeds, batch schedules) and resolves once the runs in flight
   * have finished, so what was sent can be counted (load reports). The servers stay up.
   */
  quiesce(): Promise<void>
  /** Business events the estate's senders had acknowledged, and sends that failed, so far. */
  eventCounts(): { sent: number; failed: number }
  /** Stops at once, like Ctrl-C: a run in flight is cut short. */
  close(): Promise<void>
}

/**
 * The simulated retail estate and its connectors, talking to Signalbox only over OTLP, CloudEvents
 * and HTTP like any outside connector: a steady flow of orders with small, realistic fault rates and
 * the troubles a support team meets, so that within three minutes a newcomer sees exceptions to fix
 * by an edited or a bulk replay, a stuck order, stock drifting on a channel and an SLO paging.
 */
export async function startDemo(options: DemoOptions): Promise<Demo> {
  const withIncidents = options.incidents ?? true
  const estate = await startEstate(options.seed ?? 1, options.collectorUrl, options.ingestKey, {
    incidents: withIncidents,
  })
  estate.erp.faults = { errorRate: 0.02, throttleRate: 0.05, outage: false }
  estate.payment.faults = { errorRate: 0.01, throttleRate: 0, outage: false }
  estate.tax.faults = { ...DEMO_ESTATE_FAULTS.tax }
  estate.carrier.faults = { ...DEMO_ESTATE_FAULTS.carrier }
  estate.carrier.tracking = { ...DEMO_ESTATE_FAULTS.tracking }
  estate.loyalty.faults = { ...DEMO_ESTATE_FAULTS.loyalty }
  // The carrier posts its tracking to Signalbox's webhook intake, as a real carrier's subscription would.
  const carrierSecret = options.carrierWebhookSecret ?? process.env.SIGNALBOX_WEBHOOK_SECRET_CARRIER
  if (carrierSecret)
    estate.carrier.subscription = {
      url: `${options.collectorUrl}/v1/webhooks/carrier`,
      secret: carrierSecret,
    }
  // The connectors register no global tracer provider and find none, so each exports through a provider
  // of its own (connectors/sdk/telemetry.ts): one process hosts them all, each its own service. A
  // connector deployed alone runs under its app's NodeSDK instead (docs/connectors.md).
  const suffix = options.connectorIdSuffix ?? ''
  const secrets = options.callbackSecrets ?? [`whsec_${randomBytes(32).toString('base64')}`]
  const inventorySync = inventorySyncConnector({
    id: `inventory-sync${suffix}`,
    collectorUrl: options.collectorUrl,
    apiUrl: options.apiUrl,
    erpUrl: estate.urls.erp,
    channelUrls: estate.urls.channels,
    retry: options.retry,
    ingestKey: options.ingestKey,
  })
  const pricingSync = pricingSyncConnector({
    id: `pricing-sync${suffix}`,
    collectorUrl: options.collectorUrl,
    apiUrl: options.apiUrl,
    pricingUrl: estate.urls.pricing,
    channelUrls: estate.urls.channels,
    retry: options.retry,
    ingestKey: options.ingestKey,
  })
  const fulfilment = fulfilmentConnector({
    id: `fulfilment${suffix}`,
    collectorUrl: options.collectorUrl,
    apiUrl: options.apiUrl,
    urls: estate.urls,
    retry: options.retry,
    ingestKey: options.ingestKey,
  })
  const returnToRefund = returnToRefundConnector({
    id: `return-to-refund${suffix}`,
    collectorUrl: options.collectorUrl,
    apiUrl: options.apiUrl,
    urls: estate.urls,
    retry: options.retry,
    ingestKey: options.ingestKey,
  })
  const procureToReceive = procureToReceiveConnector({
    id: `procure-to-receive${suffix}`,
    collectorUrl: options.collectorUrl,
    apiUrl: options.apiUrl,
    urls: estate.urls,
    retry: options.retry,
    ingestKey: options.ingestKey,
  })
  const orderToCash = orderToCashConnector({
    id: `order-to-cash${suffix}`,
    collectorUrl: options.collectorUrl,
    apiUrl: options.apiUrl,
    urls: estate.urls,
    retry: options.retry,
    ingestKey: options.ingestKey,
    // No payload key: the customer's data in exceptions is sent marked sensitive and Signalbox
    // encrypts it at rest, so operators can read and correct it before a replay.
  })

  const servers: Served[] = []
  const serve = async (app: Parameters<typeof serveOnLoopback>[0], path: string) => {
    const served = await serveOnLoopback(app)
    servers.push(served)
    return `${served.url}${path}`
  }
  // Each connector serves its own signed callback endpoint and announces it to Signalbox.
  const connectors = [orderToCash, inventorySync, fulfilment, returnToRefund, pricingSync, procureToReceive]
  const callbackUrls = await Promise.all(connectors.map((c) => serve(callbackApp(c, secrets), '/callbacks')))
  try {
    await Promise.all(connectors.map((c, i) => c.register(callbackUrls[i] as string)))
  } catch (err) {
    // Refused (another live callback holds an id): nothing of this estate is left running.
    await Promise.all(servers.map((s) => s.close()))
    await Promise.all(connectors.map((c) => c.close()))
    await estate.close()
    throw err
  }
  const callbackUrl = callbackUrls[0] as string
  const webhookUrl = await serve(orderWebhookApp(orderToCash), '/webhooks/orders')
  const returnsUrl = await serve(returnWebhookApp(returnToRefund), '/webhooks/returns')
  const placeReturn = async (order: Order, reason?: Return['reason']) => {
    const ret = estate.storefront.returnFor(order, reason)
    const res = await fetch(returnsUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ret),
    })
    await res.arrayBuffer()
    return { ret, status: res.status }
  }
  const stopFollowing = [
    followStockChanges(inventorySync, estate.urls.erp, 1_000),
    followWarehouse(fulfilment, estate.urls.wms, 1_000),
    followPriceChanges(pricingSync, estate.urls.pricing, 1_000),
    followProcurement(procureToReceive, estate.urls, 1_000),
  ]
  const batches = new EstateBatches(estate.erp, options.collectorUrl, {
    run: estate.run,
    seed: (options.seed ?? 1) + 30,
    ingestKey: options.ingestKey,
  })
  if (estate.incidents) batches.rejectedSkus = new Set([estate.incidents.superseded[0]])
  // About one order in eight comes back a while later.
  const placed: Order[] = []
  const placeOrder = async (order?: Order) => {
    const result = await estate.storefront.placeOrder(webhookUrl, order)
    batches.recordSale(result.order)
    placed.push(result.order)
    if (placed.length >= 8) await placeReturn(placed.splice(0, 8)[3] as Order)
    return result
  }
  const timers: NodeJS.Timeout[] = []
  const governance = new GovernanceActivity(
    options.collectorUrl,
    options.ingestKey ? { authorization: `Bearer ${options.ingestKey}` } : {},
    suffix,
  )
  if (options.ordersPerMinute > 0) {
    timers.push(
      setInterval(() => {
        // The demo never takes the process down: a failed webhook is what Signalbox is here to show.
        placeOrder().catch(() => undefined)
      }, 60_000 / options.ordersPerMinute),
      // Stock moves at the source of truth about a fifth as often as orders arrive.
      setInterval(
        () => estate.erp.adjustStock(...estate.storefront.nextStockChange()),
        (5 * 60_000) / options.ordersPerMinute,
      ),
      // The warehouse and the carrier move released orders on every few seconds.
      setInterval(() => estate.wms.advance(), 5_000),
      setInterval(() => void estate.carrier.advance().catch(() => undefined), 5_000),
    )
    // Prices move and promotions come and go; with the incidents, a few channels fall out of step.
    const pricing = new PricingActivity(
      estate.pricing,
      estate.channels,
      (options.seed ?? 1) + 20,
      withIncidents,
    )
    pricing.open()
    repeat(timers, DEMO_SCHEDULE.repricing, () => pricing.reprice())
    repeat(timers, DEMO_SCHEDULE.promotion, () => pricing.promote())
    timers.push(setInterval(() => pricing.tick(), 5_000))
    // Purchase orders at a low rate; with the incidents, suppliers late, silent or miscounting.
    if (withIncidents)
      for (const [supplier, b] of DEMO_SUPPLIERS) estate.supplierPortal.suppliers.set(supplier, b)
    repeat(timers, DEMO_SCHEDULE.purchaseOrder, () => raisePurchaseOrder(estate))
    timers.push(
      setInterval(() => {
        estate.supplierPortal.advance()
        estate.wms.receiveInbound()
      }, 5_000),
    )
    // The nightly batches on the demo's compressed schedule (config/demo/batches.yaml).
    batches.schedule()
    repeat(timers, DEMO_SCHEDULE.deploy, () => void governance.deploy())
    repeat(timers, DEMO_SCHEDULE.unownedExport, () => governance.exportPoints())
    if (estate.incidents) {
      const { bestseller } = estate.incidents
      const { erpMaintenance, listingReview, posReservation } = DEMO_SCHEDULE
      const pos = new PosReservations(
        options.collectorUrl,
        options.ingestKey ? { authorization: `Bearer ${options.ingestKey}` } : {},
      )
      repeat(timers, posReservation, () => {
        pos.reserveAny().catch(() => undefined)
      })
      repeat(timers, erpMaintenance, () => {
        estate.erp.faults.maintenanceUntil = Date.now() + erpMaintenance.forMs
      })
      repeat(timers, listingReview, () => {
        estate.channels.marketplace.suppressedListings.set(bestseller, Date.now() + listingReview.forMs)
      })
      // Yesterday's tail (or the day before's, until 06:00 UTC): one order never reached the ERP, so
      // finance's close has an unmatched order and the `unreconciled` rule a closed day to raise.
      void tellPreviousDay(options.collectorUrl, {
        run: estate.run,
        source: `urn:signalbox:connector:${orderToCash.options.id}`,
        connector: orderToCash.options.id,
        headers: options.ingestKey ? { authorization: `Bearer ${options.ingestKey}` } : {},
      }).catch(() => undefined)
      const { loyaltyOutage, lateTracking } = DEMO_SCHEDULE
      repeat(timers, loyaltyOutage, () => {
        estate.loyalty.faults.outage = true
        later(timers, loyaltyOutage.forMs, () => {
          estate.loyalty.faults.outage = false
        })
      })
      repeat(timers, lateTracking, () => {
        estate.carrier.tracking.delayMs = lateTracking.delayMs
        later(timers, lateTracking.forMs, () => {
          estate.carrier.tracking.delayMs = 0
        })
      })
      // The Leeds store's till is offline now and then: its sales posting misses its run.
      repeat(timers, DEMO_SCHEDULE.tillOffline, () =>
        batches.skipNext.add('store-sales-posting.STORE-LDS-03'),
      )
    }
  }
  for (const t of timers) t.unref()
  return {
    estate,
    orderToCash,
    inventorySync,
    pricingSync,
    fulfilment,
    returnToRefund,
    procureToReceive,
    batches,
    returnsUrl,
    placeReturn,
    webhookUrl,
    callbackUrl,
    callbackSecrets: secrets,
    placeOrder,
    async quiesce() {
      for (const t of timers) clearInterval(t)
      for (const stop of stopFollowing) stop()
      batches.stop()
      // With the feeds stopped no connector starts another's runs; each waits for its own.
      await Promise.all([batches.settled(), governance.settled(), ...connectors.map((c) => c.settled())])
    },
    eventCounts() {
      // The connectors', the scheduled batches' and the deploy pipeline's (the incidents' senders aside).
      const senders = [...connectors.map((c) => c.eventCounts), batches.eventCounts, governance.eventCounts]
      return {
        sent: senders.reduce((n, c) => n + c.sent, 0),
        failed: senders.reduce((n, c) => n + c.failed, 0),
      }
    },
    async close() {
      for (const t of timers) clearInterval(t)
      for (const stop of stopFollowing) stop()
      await batches.close()
      await Promise.all(servers.map((s) => s.close()))
      await Promise.all(connectors.map((c) => c.close()))
      await governance.close()
      await estate.close()
    },
  }
}

/** Runs `then` once after `ms`; the timer joins `timers` (cleared on close). */
function later(timers: NodeJS.Timeout[], ms: number, then: () => void): void {
  const t = setTimeout(then, ms)
  t.unref()
  timers.push(t)
}

/** Runs `start` after `firstAfterMs`, then every `everyMs`; the timers join `timers` (cleared on close). */
function repeat(
  timers: NodeJS.Timeout[],
  when: { readonly firstAfterMs: number; readonly everyMs: number },
  start: () => void,
): void {
  const first = setTimeout(() => {
    start()
    const again = setInterval(start, when.everyMs)
    again.unref()
    timers.push(again)
  }, when.firstAfterMs)
  first.unref()
  timers.push(first)
}
