import { z } from 'zod'

/** An order as the storefront's webhook delivers it. */
export const orderSchema = z.object({
  orderId: z.string().min(1).max(100),
  channel: z.enum(['web', 'app', 'marketplace', 'pos']),
  fulfilment: z.enum(['ship', 'pickup']),
  storeId: z.string().optional(),
  /** A trade customer's account at the ERP (trade prices; may buy on account). */
  tradeAccount: z.string().min(1).max(40).optional(),
  /** `on_account`: invoiced to the trade account, within its credit limit. Prepaid when absent. */
  paymentTerms: z.enum(['prepaid', 'on_account']).optional(),
  customer: z.object({
    name: z.string().min(1),
    email: z.string().min(3),
    phone: z.string().optional(),
    address: z.object({ line1: z.string(), city: z.string(), postalCode: z.string() }),
  }),
  lines: z
    .array(
      z.object({
        sku: z.string().min(1),
        quantity: z.number().int().positive(),
        unitPrice: z.number().nonnegative(),
      }),
    )
    .min(1),
})

export type Order = z.infer<typeof orderSchema>

export const orderTotal = (o: Order) =>
  Math.round(o.lines.reduce((s, l) => s + l.quantity * l.unitPrice, 0) * 100) / 100
