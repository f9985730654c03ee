import type { WarehouseEvent } from '../estate/wms.ts'
import { Connector, followFeed, type RetryPolicy } from '../sdk/index.ts'

export interface FulfilmentOptions {
  /** The connector's id in Signalbox (default `fulfilment`); a second instance needs its own. */
  readonly id?: string
  readonly collectorUrl: string
  readonly apiUrl: string
  readonly urls: {
    readonly erp: string
    readonly wms: string
    readonly notification: string
    readonly crm: string
    /** The parcel carrier: a label for each shipped order. */
    readonly carrier: string
    /** The loyalty system: points accrued once an order is invoiced. */
    readonly loyalty: string
  }
  readonly retry?: RetryPolicy
  /** Signalbox's ingestion key, when it requires one. */
  readonly ingestKey?: string
}

const FLOW = 'order_to_cash'
const entity = (e: WarehouseEvent) => ({ type: 'order' as const, id: e.orderId })
const shipment = (e: WarehouseEvent) => ({ shipmentid: e.shipmentId, system: 'wms', flow: FLOW })

/**
 * Fulfilment: what the warehouse or store did with a released order becomes the carrier's label (when
 * shipped), the ERP's fulfilment and invoice, loyalty points, a CRM update and a message to the
 * customer. Shipped or ready for pickup completes `fulfilled`, then the invoice and the notification
 * run side by side; picked up completes `delivered` (a shipped order's delivery is the carrier's
 * tracking webhook, mapped by Signalbox: config/webhooks.yaml).
 */
export function fulfilmentConnector(options: FulfilmentOptions): Connector {
  const { urls } = options
  return (
    new Connector({
      id: options.id ?? 'fulfilment',
      system: 'wms',
      collectorUrl: options.collectorUrl,
      apiUrl: options.apiUrl,
      retry: options.retry,
      ingestKey: options.ingestKey,
    })
      .step<WarehouseEvent>('confirm_fulfilment', {
        flow: FLOW,
        stage: 'fulfilled',
        entity,
        next: ['invoice', 'notify_customer', 'update_crm'],
        run: async (e, ctx) => {
          // A shipped parcel needs the carrier's label first: its tracking number goes on the ERP's
          // fulfilment, and the carrier's tracking webhooks follow it to the door.
          const label =
            e.kind === 'shipped'
              ? await ctx.call<{ carrier: string; trackingNumber: string }>('carrier', {
                  method: 'POST',
                  url: `${urls.carrier}/v1/labels`,
                  route: '/v1/labels',
                  body: { orderId: e.orderId, shipmentId: e.shipmentId, service: 'standard' },
                })
              : undefined
          const fulfilment = await ctx.call<{ number: string }>('erp', {
            method: 'POST',
            url: `${urls.erp}/api/fulfilments`,
            route: '/api/fulfilments',
            body: {
              orderId: e.orderId,
              shipmentId: e.shipmentId,
              kind: e.kind,
              ...(label ? { trackingNumber: label.trackingNumber } : {}),
            },
          })
          await ctx.emit({
            type: `retail.order.${e.kind}`,
            subject: e.orderId,
            data: {
              shipment: e.shipmentId,
              fulfilment: fulfilment.number,
              ...(label ? { carrier: label.carrier, trackingNumber: label.trackingNumber } : {}),
            },
            extensions: shipment(e),
          })
        },
      })
      .step<WarehouseEvent>('invoice', {
        flow: FLOW,
        stage: 'invoiced',
        entity,
        next: 'accrue_loyalty',
        run: async (e, ctx) => {
          const invoice = await ctx.call<{ number: string }>('erp', {
            method: 'POST',
            url: `${urls.erp}/api/invoices`,
            route: '/api/invoices',
            body: { orderId: e.orderId },
          })
          await ctx.emit({
            type: 'retail.order.invoiced',
            subject: e.orderId,
            data: { invoice: invoice.number },
            extensions: { system: 'erp', flow: FLOW },
          })
        },
      })
      // Points on the invoiced amount (the ERP's sales order total). A step of its own, completing no
      // stage: a loyalty outage leaves points owed (an exception to replay), never an order held up.
      .step<WarehouseEvent>('accrue_loyalty', {
        flow: FLOW,
        stage: '',
        entity,
        run: async (e, ctx) => {
          const { items } = await ctx.call<{ items: Array<{ number: string; total: number }> }>('erp', {
            method: 'GET',
            url: `${urls.erp}/api/salesorders?orderId=${encodeURIComponent(e.orderId)}`,
            route: '/api/salesorders',
          })
          // The sales order the invoice bills: its total is what the customer paid for.
          const salesOrder = items[0]
          if (!salesOrder) throw new Error(`the ERP has no sales order for ${e.orderId}`)
          const amount = salesOrder.total
          const accrual = await ctx.call<{ id: string; points: number }>('loyalty', {
            method: 'POST',
            url: `${urls.loyalty}/v1/accruals`,
            route: '/v1/accruals',
            body: { orderId: e.orderId, salesOrder: salesOrder.number, amount },
          })
          await ctx.emit({
            type: 'retail.order.loyalty_accrued',
            subject: e.orderId,
            data: { accrual: accrual.id, points: accrual.points, amount, currency: 'GBP' },
            extensions: { system: 'loyalty', flow: FLOW },
          })
        },
      })
      .step<WarehouseEvent>('notify_customer', {
        flow: FLOW,
        stage: '',
        entity,
        run: async (e, ctx) => {
          await ctx.call('notification', {
            method: 'POST',
            url: `${urls.notification}/messages`,
            route: '/messages',
            body: {
              orderId: e.orderId,
              template: e.kind === 'shipped' ? 'order-shipped' : 'ready-for-pickup',
            },
          })
        },
      })
      .step<WarehouseEvent>('update_crm', {
        flow: FLOW,
        stage: '',
        entity,
        run: async (e, ctx) => {
          await ctx.call('crm', {
            method: 'PUT',
            url: `${urls.crm}/orders/${encodeURIComponent(e.orderId)}/status`,
            route: '/orders/{id}/status',
            body: { status: e.kind },
          })
        },
      })
      .step<WarehouseEvent>('confirm_delivery', {
        flow: FLOW,
        stage: 'delivered',
        entity,
        run: async (e, ctx) => {
          await ctx.emit({
            type: `retail.order.${e.kind}`,
            subject: e.orderId,
            data: { shipment: e.shipmentId },
            extensions: shipment(e),
          })
        },
      })
  )
}

/** Starts a sync for each move in the warehouse's event feed. Returns a stop function. */
export function followWarehouse(connector: Connector, wmsUrl: string, intervalMs: number): () => void {
  return followFeed<WarehouseEvent>(
    `${wmsUrl}/outbound/events`,
    (e) =>
      void connector.run(
        e.kind === 'delivered' || e.kind === 'picked_up' ? 'confirm_delivery' : 'confirm_fulfilment',
        e,
      ),
    intervalMs,
  )
}
