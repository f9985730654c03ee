import { randomBytes } from 'node:crypto'
import { type Estate, startEstate } from './estate/index.ts'
import { type Served, serveOnLoopback } from './estate/serve.ts'
import { followWarehouse, fulfilmentConnector } from './fulfilment/index.ts'
import { followStockChanges, inventorySyncConnector } from './inventory-sync/index.ts'
import { orderToCashConnector, orderWebhookApp } from './order-to-cash/index.ts'
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
}

export interface Demo {
  readonly estate: Estate
  readonly orderToCash: Connector
  readonly inventorySync: Connector
  readonly fulfilment: Connector
  readonly webhookUrl: string
  readonly callbackUrl: string
  readonly callbackSecrets: readonly string[]
  /** Places one order now (scenarios and tests); the timer places the steady flow. */
  placeOrder(): ReturnType<Estate['storefront']['placeOrder']>
  close(): Promise<void>
}

/**
 * The simulated retail estate and its connectors, talking to Signalbox only over OTLP, CloudEvents
 * and HTTP like any outside connector: a steady flow of orders with small, realistic fault rates, so
 * a newcomer sees orders, stages, some failures and exceptions within a minute.
 */
export async function startDemo(options: DemoOptions): Promise<Demo> {
  const estate = await startEstate(options.seed ?? 1)
  estate.erp.faults = { errorRate: 0.02, throttleRate: 0.05, outage: false }
  estate.payment.faults = { errorRate: 0.01, throttleRate: 0, outage: false }
  const secrets = options.callbackSecrets ?? [`whsec_${randomBytes(32).toString('base64')}`]
  const inventorySync = inventorySyncConnector({
    collectorUrl: options.collectorUrl,
    apiUrl: options.apiUrl,
    erpUrl: estate.urls.erp,
    channelUrls: estate.urls.channels,
    retry: options.retry,
  })
  const fulfilment = fulfilmentConnector({
    collectorUrl: options.collectorUrl,
    apiUrl: options.apiUrl,
    urls: estate.urls,
    retry: options.retry,
  })
  const orderToCash = orderToCashConnector({
    collectorUrl: options.collectorUrl,
    apiUrl: options.apiUrl,
    urls: estate.urls,
    retry: options.retry,
  })
  const servers: Served[] = [
    await serveOnLoopback(orderWebhookApp(orderToCash)),
    await serveOnLoopback(callbackApp(orderToCash, secrets)),
    await serveOnLoopback(callbackApp(inventorySync, secrets)),
    await serveOnLoopback(callbackApp(fulfilment, secrets)),
  ]
  const [webhook, callbacks, inventoryCallbacks, fulfilmentCallbacks] = servers as [
    Served,
    Served,
    Served,
    Served,
  ]
  const callbackUrl = `${callbacks.url}/callbacks`
  await orderToCash.register(callbackUrl)
  await inventorySync.register(`${inventoryCallbacks.url}/callbacks`)
  await fulfilment.register(`${fulfilmentCallbacks.url}/callbacks`)
  const stopFollowing = [
    followStockChanges(inventorySync, estate.urls.erp, 1_000),
    followWarehouse(fulfilment, estate.urls.wms, 1_000),
  ]
  const webhookUrl = `${webhook.url}/webhooks/orders`
  const placeOrder = () => estate.storefront.placeOrder(webhookUrl)
  const timers: NodeJS.Timeout[] = []
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
    )
  }
  for (const t of timers) t.unref()
  return {
    estate,
    orderToCash,
    inventorySync,
    fulfilment,
    webhookUrl,
    callbackUrl,
    callbackSecrets: secrets,
    placeOrder,
    async close() {
      for (const t of timers) clearInterval(t)
      for (const stop of stopFollowing) stop()
      await Promise.all(servers.map((s) => s.close()))
      await Promise.all([orderToCash, inventorySync, fulfilment].map((c) => c.telemetry.shutdown()))
      await estate.close()
    },
  }
}
