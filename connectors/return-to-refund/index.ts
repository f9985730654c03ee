import { z } from 'zod'
import { Connector, type RetryPolicy, webhookIntake } from '../sdk/index.ts'

/** A return as the store's POS or the online returns portal reports it. */
export const returnSchema = z.object({
  returnId: z.string().min(1).max(100),
  orderId: z.string().min(1).max(100),
  channel: z.enum(['pos', 'web']),
  storeId: z.string().optional(),
  reason: z.enum(['damaged', 'wrong_size', 'not_as_described', 'changed_mind']),
  lines: z
    .array(
      z.object({
        sku: z.string().min(1),
        quantity: z.number().int().positive(),
        refundAmount: z.number().positive(),
      }),
    )
    .min(1),
})
export type Return = z.infer<typeof returnSchema>

export interface ReturnToRefundOptions {
  /** The connector's id in Signalbox (default `return-to-refund`); a second instance needs its own. */
  readonly id?: string
  readonly collectorUrl: string
  readonly apiUrl: string
  readonly urls: {
    readonly payment: string
    readonly erp: string
    readonly wms: string
    /** The loyalty system: the points an order earned are taken back when its return is refunded. */
    readonly loyalty: string
  }
  readonly retry?: RetryPolicy
  /** Signalbox's ingestion key, when it requires one. */
  readonly ingestKey?: string
}

const FLOW = 'return_to_refund'
const entity = (r: Return) => ({ type: 'return' as const, id: r.returnId })
const ext = (r: Return, system: string) => ({ orderid: r.orderId, system, flow: FLOW })
const amount = (r: Return) => Math.round(r.lines.reduce((s, l) => s + l.refundAmount, 0) * 100) / 100

/**
 * Return to refund: a return received in store or online is refunded through the payment gateway,
 * its loyalty points reversed, credited in the ERP (credit memo), and its goods restocked — or
 * disposed of when damaged.
 */
export function returnToRefundConnector(options: ReturnToRefundOptions): Connector {
  const { urls } = options
  return (
    new Connector({
      id: options.id ?? 'return-to-refund',
      system: 'pos',
      collectorUrl: options.collectorUrl,
      apiUrl: options.apiUrl,
      retry: options.retry,
      ingestKey: options.ingestKey,
    })
      .step<Return>('receive', {
        flow: FLOW,
        stage: 'received',
        entity,
        next: 'refund',
        run: async (r, ctx) => {
          await ctx.emit({
            type: 'retail.return.received',
            subject: r.returnId,
            data: { reason: r.reason, lines: r.lines, store: r.storeId ?? null },
            extensions: ext(r, r.channel === 'pos' ? 'pos' : 'storefront'),
          })
        },
      })
      .step<Return>('refund', {
        flow: FLOW,
        stage: 'refund_issued',
        entity,
        next: ['credit_memo', 'reverse_loyalty'],
        run: async (r, ctx) => {
          const refund = await ctx.call<{ id: string }>('payment', {
            method: 'POST',
            url: `${urls.payment}/v1/refunds`,
            route: '/v1/refunds',
            body: { returnId: r.returnId, amount: amount(r) },
          })
          await ctx.emit({
            type: 'retail.return.refund_issued',
            subject: r.returnId,
            data: { refund: refund.id, amount: amount(r) },
            extensions: ext(r, 'payment'),
          })
        },
      })
      // The points the refunded amount earned, taken back. No stage waits on it: a loyalty outage leaves
      // points to reverse (an exception to replay), not a refund held up.
      .step<Return>('reverse_loyalty', {
        flow: FLOW,
        stage: '',
        entity,
        run: async (r, ctx) => {
          const reversal = await ctx.call<{ id: string; points: number }>('loyalty', {
            method: 'POST',
            url: `${urls.loyalty}/v1/reversals`,
            route: '/v1/reversals',
            body: { orderId: r.orderId, returnId: r.returnId, amount: amount(r) },
          })
          await ctx.emit({
            type: 'retail.return.loyalty_reversed',
            subject: r.returnId,
            data: { reversal: reversal.id, points: reversal.points, amount: amount(r), currency: 'GBP' },
            extensions: ext(r, 'loyalty'),
          })
        },
      })
      .step<Return>('credit_memo', {
        flow: FLOW,
        stage: 'credit_posted',
        entity,
        next: 'disposition',
        run: async (r, ctx) => {
          const memo = await ctx.call<{ number: string }>('erp', {
            method: 'POST',
            url: `${urls.erp}/api/creditmemos`,
            route: '/api/creditmemos',
            body: { orderId: r.orderId, returnId: r.returnId },
          })
          await ctx.emit({
            type: 'retail.return.credit_posted',
            subject: r.returnId,
            data: { creditMemo: memo.number, amount: amount(r) },
            extensions: ext(r, 'erp'),
          })
        },
      })
      .step<Return>('disposition', {
        flow: FLOW,
        stage: 'restocked',
        entity,
        run: async (r, ctx) => {
          const action = r.reason === 'damaged' ? 'dispose' : 'restock'
          await ctx.call('wms', {
            method: 'POST',
            url: `${urls.wms}/returns/dispositions`,
            route: '/returns/dispositions',
            body: { returnId: r.returnId, action },
          })
          await ctx.emit({
            type: action === 'dispose' ? 'retail.return.disposed' : 'retail.return.restocked',
            subject: r.returnId,
            data: { lines: r.lines },
            extensions: ext(r, 'wms'),
          })
        },
      })
  )
}

/** The return intake: the source systems post returns here; the sync runs in the background. */
export function returnWebhookApp(connector: Connector) {
  return webhookIntake(connector, {
    path: '/webhooks/returns',
    schema: returnSchema,
    step: 'receive',
    name: 'return',
  })
}
