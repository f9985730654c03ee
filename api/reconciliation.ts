import type { StageTotalRow, UnmatchedRow } from '../store/queries/reconciliation.ts'

/** How many and how much in one currency; amounts in the currency's units, rounded to the cent's hundredth. */
export interface Money {
  readonly currency: string
  readonly count: number
  readonly amount: number
}

type Stage = StageTotalRow['stage']

/** Ten-thousandths (summed as integers) back to units. */
const units = (minor: string) => Number(minor) / 10_000

/**
 * Per channel, each stage's count and amount per currency: a channel selling in two currencies shows
 * two lines per stage, never one sum across them.
 */
export function channelTotals(rows: readonly StageTotalRow[]) {
  const channels = [...new Set(rows.map((r) => r.channel))].sort()
  return channels.map((channel) => {
    const of = (stage: Stage): Money[] =>
      rows
        .filter((r) => r.channel === channel && r.stage === stage)
        .map((r) => ({ currency: r.currency, count: Number(r.n), amount: units(r.amount_minor) }))
    return {
      channel,
      orders: {
        captured: of('captured'),
        posted: of('posted'),
        invoiced: of('invoiced'),
        cancelled: of('cancelled'),
        unmatched: of('unmatched_orders'),
      },
      refunds: { issued: of('refunded'), credited: of('credited'), unmatched: of('unmatched_refunds') },
      unmatched: [...of('unmatched_orders'), ...of('unmatched_refunds')].reduce((n, m) => n + m.count, 0),
    }
  })
}

const LIFECYCLE = { order: 'orders', return: 'returns' } as const

/** An unmatched entity, linked to its lifecycle. */
export function unmatchedView(r: UnmatchedRow) {
  return {
    entity: { type: r.entity_type, id: r.id },
    channel: r.channel,
    reason: r.reason,
    currency: r.currency,
    amount: r.amount,
    erp: r.erp_currency ? { currency: r.erp_currency, amount: r.erp_amount } : null,
    at: new Date(Number(r.at)).toISOString(),
    lifecycle: `/api/${LIFECYCLE[r.entity_type]}/${encodeURIComponent(r.id)}/lifecycle`,
  }
}
