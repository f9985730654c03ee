import type { Connector } from '../sdk/index.ts'

/** An order as the storefront hands it to the sync: what the ERP needs to create the sales order. */
export interface OrderForErp {
  readonly orderId: string
  readonly channel: string
  readonly customer: {
    readonly name: string
    readonly email: string
    readonly address: { readonly line1: string; readonly city: string; readonly postalCode: string }
  }
  readonly lines: ReadonlyArray<{
    readonly sku: string
    readonly quantity: number
    readonly unitPrice: number
  }>
}

/**
 * The order-to-cash step that posts an order to the ERP as a sales order and reports the
 * `erp_posted` stage. The ERP honours the idempotency key, so a retry or a replay never creates a
 * second sales order.
 */
export function postSalesOrderStep(connector: Connector, erpUrl: string): Connector {
  return connector.step<OrderForErp>('post_sales_order', {
    flow: 'order_to_cash',
    stage: 'erp_posted',
    entity: (order) => ({ type: 'order', id: order.orderId }),
    run: async (order, ctx) => {
      const salesOrder = await ctx.call<{ number: string; total: number }>('erp', {
        method: 'POST',
        url: `${erpUrl}/api/salesorders`,
        route: '/api/salesorders',
        body: order,
      })
      await ctx.emit({
        type: 'retail.order.erp_posted',
        subject: order.orderId,
        data: { salesOrder: salesOrder.number, total: salesOrder.total, channel: order.channel },
        extensions: { system: 'erp', flow: 'order_to_cash' },
      })
    },
  })
}
