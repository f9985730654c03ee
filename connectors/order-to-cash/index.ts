import { Connector, type RetryPolicy, webhookIntake } from '../sdk/index.ts'
import { type Order, orderSchema, orderTotal } from './order.ts'

export interface OrderToCashOptions {
  /** The connector's id in Signalbox (default `order-to-cash`); a second instance needs its own. */
  readonly id?: string
  readonly collectorUrl: string
  readonly apiUrl: string
  readonly urls: {
    /** The storefront's order API, read for a re-sync. */
    readonly orders: string
    readonly payment: string
    /** The tax engine, called at capture: an order is not taken without its tax. */
    readonly tax: string
    readonly oms: string
    readonly erp: string
    readonly wms: string
  }
  readonly retry?: RetryPolicy
  /** Signalbox's ingestion key, when it requires one. */
  readonly ingestKey?: string
  /** Seals customer data in exception payloads (32 bytes, base64). */
  readonly payloadKey?: string
}

const FLOW = 'order_to_cash'
const entity = (o: Order) => ({ type: 'order' as const, id: o.orderId })
/** The customer's personal data: sealed in exception payloads, opened again for a replay. */
const sensitive = ['customer.name', 'customer.email', 'customer.phone', 'customer.address']

/**
 * Order to cash, the sync itself: an order captured from the storefront, marketplace or POS (its tax
 * calculated by the tax engine) is checked with the payment gateway, reserved in the OMS, posted to the ERP as a sales order and
 * released to the warehouse (or the store, for pickup). Each step is its own traced run that, on
 * success, hands the order to the next; a step that fails for good becomes an exception that a replay
 * resumes from.
 */
export function orderToCashConnector(options: OrderToCashOptions): Connector {
  const { urls } = options
  return new Connector({
    id: options.id ?? 'order-to-cash',
    system: 'storefront',
    collectorUrl: options.collectorUrl,
    apiUrl: options.apiUrl,
    retry: options.retry,
    ingestKey: options.ingestKey,
    payloadKey: options.payloadKey,
  })
    .step<Order>('capture', {
      flow: FLOW,
      stage: 'captured',
      entity,
      sensitive,
      schema: orderSchema,
      // A re-sync starts the flow again from the order as the storefront has it now; every later step
      // is idempotent at its system, so what was done stays done once.
      load: async (ref) => {
        const res = await fetch(`${urls.orders}/api/orders/${encodeURIComponent(ref.id)}`)
        if (res.status === 404) return undefined
        if (!res.ok) throw new Error(`the storefront answered ${res.status}`)
        return orderSchema.parse(await res.json())
      },
      next: 'authorize_payment',
      // The tax engine first: without the tax the order cannot be taken, so its failure fails the
      // capture (an exception whose replay takes the order once the engine is back).
      run: async (o, ctx) => {
        const tax = await ctx.call<{ id: string; tax: number }>('tax', {
          method: 'POST',
          url: `${urls.tax}/v1/transactions`,
          route: '/v1/transactions',
          body: {
            orderId: o.orderId,
            currency: 'GBP',
            shipTo: { postalCode: o.customer.address.postalCode },
            lines: o.lines,
          },
        })
        await ctx.emit({
          type: 'retail.order.tax_calculated',
          subject: o.orderId,
          data: { transaction: tax.id, tax: tax.tax, currency: 'GBP' },
          extensions: { system: 'tax', flow: FLOW },
        })
        await ctx.emit({
          type: 'retail.order.created',
          subject: o.orderId,
          data: {
            channel: o.channel,
            fulfilment: o.fulfilment,
            total: orderTotal(o),
            tax: tax.tax,
            currency: 'GBP',
            lines: o.lines,
            // Stored only as a keyed hash (config/privacy.yaml): support finds the order by e-mail.
            customer: { email: o.customer.email },
          },
          extensions: { system: o.channel === 'pos' ? 'pos' : 'storefront', flow: FLOW },
        })
      },
    })
    .step<Order>('authorize_payment', {
      flow: FLOW,
      stage: 'payment_authorized',
      entity,
      sensitive,
      schema: orderSchema,
      next: 'reserve_inventory',
      run: async (o, ctx) => {
        const auth = await ctx.call<{ authorizationId: string }>('payment', {
          method: 'POST',
          url: `${urls.payment}/v1/authorizations/${encodeURIComponent(o.orderId)}/capture-check`,
          route: '/v1/authorizations/{id}/capture-check',
        })
        await ctx.emit({
          type: 'retail.order.payment_authorized',
          subject: o.orderId,
          data: { authorizationId: auth.authorizationId, amount: orderTotal(o) },
          extensions: { system: 'payment', flow: FLOW },
        })
      },
    })
    .step<Order>('reserve_inventory', {
      flow: FLOW,
      stage: 'inventory_reserved',
      entity,
      sensitive,
      schema: orderSchema,
      next: 'post_sales_order',
      run: async (o, ctx) => {
        const lines = o.lines.map(({ sku, quantity }) => ({ sku, quantity }))
        const reservation = await ctx.call<{ id: string }>('oms', {
          method: 'POST',
          url: `${urls.oms}/reservations`,
          route: '/reservations',
          body: { orderId: o.orderId, lines },
        })
        await ctx.emit({
          type: 'retail.order.inventory_reserved',
          subject: o.orderId,
          data: { reservation: reservation.id, lines },
          extensions: { system: 'oms', flow: FLOW },
        })
      },
    })
    .step<Order>('post_sales_order', {
      flow: FLOW,
      stage: 'erp_posted',
      entity,
      sensitive,
      schema: orderSchema,
      next: 'release_to_fulfilment',
      run: async (o, ctx) => {
        const salesOrder = await ctx.call<{ number: string; total: number }>('erp', {
          method: 'POST',
          url: `${urls.erp}/api/salesorders`,
          route: '/api/salesorders',
          body: {
            orderId: o.orderId,
            channel: o.channel,
            customer: o.customer,
            lines: o.lines,
            ...(o.tradeAccount ? { account: o.tradeAccount } : {}),
            paymentTerms: o.paymentTerms ?? 'prepaid',
          },
        })
        await ctx.emit({
          type: 'retail.order.erp_posted',
          subject: o.orderId,
          data: { salesOrder: salesOrder.number, total: salesOrder.total },
          extensions: { system: 'erp', flow: FLOW },
        })
      },
    })
    .step<Order>('release_to_fulfilment', {
      flow: FLOW,
      // Released for picking; the fulfilment connector reports shipped or ready for pickup.
      stage: 'released',
      entity,
      sensitive,
      schema: orderSchema,
      run: async (o, ctx) => {
        await ctx.call('wms', {
          method: 'POST',
          url: `${urls.wms}/outbound/releases`,
          route: '/outbound/releases',
          body: {
            orderId: o.orderId,
            fulfilment: o.fulfilment,
            lines: o.lines.map(({ sku, quantity }) => ({ sku, quantity })),
          },
        })
      },
    })
}

/** The order intake: the source systems post orders here; the sync runs in the background. */
export function orderWebhookApp(connector: Connector) {
  return webhookIntake(connector, {
    path: '/webhooks/orders',
    schema: orderSchema,
    step: 'capture',
    name: 'order',
  })
}
