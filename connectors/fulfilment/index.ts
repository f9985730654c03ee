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
  }
  readonly retry?: RetryPolicy
  /** Signalbox's ingestion key, when it requires one. */
  readonly ingestKey?: string
}

const FLOW = 'order_to_cash'
const entity = (e: WarehouseEvent) => ({ type: 'order' as const, id: e.orderId })
const shipment = (e: WarehouseEvent) => ({ shipmentid: e.shipmentId, system: 'wms', flow: FLOW })

/**
 * Fulfilment: what the warehouse or store did with a released order becomes the ERP's fulfilment
 * and invoice, a CRM update and a message to the customer. Shipped or ready for pickup completes `fulfilled`,
 * then the invoice and the notification run side by side; delivered or picked up completes
 * `delivered`.
 */
export function fulfilmentConnector(options: FulfilmentOptions): Connector {
  const { urls } = options
  return new Connector({
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
        const fulfilment = await ctx.call<{ number: string }>('erp', {
          method: 'POST',
          url: `${urls.erp}/api/fulfilments`,
          route: '/api/fulfilments',
          body: { orderId: e.orderId, shipmentId: e.shipmentId, kind: e.kind },
        })
        await ctx.emit({
          type: `retail.order.${e.kind}`,
          subject: e.orderId,
          data: { shipment: e.shipmentId, fulfilment: fulfilment.number },
          extensions: shipment(e),
        })
      },
    })
    .step<WarehouseEvent>('invoice', {
      flow: FLOW,
      stage: 'invoiced',
      entity,
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
    .step<WarehouseEvent>('notify_customer', {
      flow: FLOW,
      stage: '',
      entity,
      run: async (e, ctx) => {
        await ctx.call('notification', {
          method: 'POST',
          url: `${urls.notification}/messages`,
          route: '/messages',
          body: { orderId: e.orderId, template: e.kind === 'shipped' ? 'order-shipped' : 'ready-for-pickup' },
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
