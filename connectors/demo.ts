import { randomBytes } from 'node:crypto'
import { type Estate, startEstate } from './estate/index.ts'
import { type Served, serveOnLoopback } from './estate/serve.ts'
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
  const orderToCash = orderToCashConnector({
    collectorUrl: options.collectorUrl,
    apiUrl: options.apiUrl,
    urls: estate.urls,
    retry: options.retry,
  })
  const servers: Served[] = [
    await serveOnLoopback(orderWebhookApp(orderToCash)),
    await serveOnLoopback(callbackApp(orderToCash, secrets)),
  ]
  const [webhook, callbacks] = servers as [Served, Served]
  const callbackUrl = `${callbacks.url}/callbacks`
  await orderToCash.register(callbackUrl)
  const webhookUrl = `${webhook.url}/webhooks/orders`
  const placeOrder = () => estate.storefront.placeOrder(webhookUrl)
  const timer =
    options.ordersPerMinute > 0
      ? setInterval(() => {
          // The demo never takes the process down: a failed webhook is what Signalbox is here to show.
          placeOrder().catch(() => undefined)
        }, 60_000 / options.ordersPerMinute)
      : undefined
  timer?.unref()
  return {
    estate,
    orderToCash,
    webhookUrl,
    callbackUrl,
    callbackSecrets: secrets,
    placeOrder,
    async close() {
      if (timer) clearInterval(timer)
      await Promise.all(servers.map((s) => s.close()))
      await orderToCash.telemetry.shutdown()
      await estate.close()
    },
  }
}
