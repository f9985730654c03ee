import { DAY_MS } from '../../core/duration.ts'
import type { Store } from '../client.ts'
import { type Fragment, sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'

/**
 * The reads behind a business day's reconciliation: the orders captured on the day and what the
 * ERP did with them (posted, invoiced), and the refunds issued on the day and their credit memos.
 * Amounts are summed in ten-thousandths, as integers, per currency: never across currencies, and
 * never with a float's rounding.
 */
export interface ReconciliationWindow {
  /** The business day, [from, to). */
  readonly from: Date
  readonly to: Date
  /** Postings, invoices and credit memos for the day's entities are read up to here. */
  readonly until: Date
  readonly channel?: string
}

/** A captured order's channel is its own; a refund's is its order's. */
const ORDERS_LOOKBACK_MS = 90 * DAY_MS

/** Per entity, the last of its events of one type in the window: its amount and currency, if it says them. */
const documents = (type: string, from: Date, until: Date, of: Fragment) => sql`
  SELECT subject AS id, count() AS n,
    argMax(if(JSONHas(data, 'total'), JSONExtractFloat(data, 'total'), JSONExtractFloat(data, 'amount')), time) AS amount,
    argMax(JSONHas(data, 'total') OR JSONHas(data, 'amount'), time) AS has_amount,
    argMax(JSONExtractString(data, 'currency'), time) AS currency
  FROM ${table(TABLES.events)}
  WHERE type = ${type} AND time >= ${from} AND time < ${until} AND subject IN (${of})
  GROUP BY subject`

const CREATED = 'retail.order.created'
const POSTED = 'retail.order.erp_posted'
const INVOICED = 'retail.order.invoiced'
const CANCELLED = 'retail.order.cancelled'
/** A document's amount: `total` or `amount`, whichever it says. */
const AMOUNT = sql`if(JSONHas(data, 'total'), JSONExtractFloat(data, 'total'), JSONExtractFloat(data, 'amount'))`
const SAYS_AMOUNT = sql`(JSONHas(data, 'total') OR JSONHas(data, 'amount'))`
const CURRENCY = sql`JSONExtractString(data, 'currency')`

/**
 * One row per order captured in the window: its channel, amount and what the ERP did with it. One
 * scan of the day's orders' events, grouped by order (no joins: each is a read of its own).
 */
function orderFacts(w: ReconciliationWindow): Fragment {
  const captured = sql`type = ${CREATED} AND time >= ${w.from} AND time < ${w.to}`
  const last = (type: string, value: Fragment) => sql`argMaxIf(${value}, time, type = ${type})`
  return sql`
    SELECT id, channel, currency, amount, at,
      posted, if(posted_says, posted_raw, amount) AS posted_amount, if(posted_cur = '', currency, posted_cur) AS posted_currency,
      invoiced, if(invoiced_says, invoiced_raw, amount) AS invoiced_amount,
      if(invoiced_cur = '', currency, invoiced_cur) AS invoiced_currency, cancelled
    FROM (
      SELECT subject AS id,
        argMinIf(JSONExtractString(data, 'channel'), time, type = ${CREATED}) AS channel,
        argMinIf(${CURRENCY}, time, type = ${CREATED}) AS currency,
        argMinIf(JSONExtractFloat(data, 'total'), time, type = ${CREATED}) AS amount,
        toUnixTimestamp64Milli(minIf(time, type = ${CREATED})) AS at,
        countIf(type = ${POSTED}) > 0 AS posted, ${last(POSTED, AMOUNT)} AS posted_raw,
        ${last(POSTED, SAYS_AMOUNT)} AS posted_says, ${last(POSTED, CURRENCY)} AS posted_cur,
        countIf(type = ${INVOICED}) > 0 AS invoiced, ${last(INVOICED, AMOUNT)} AS invoiced_raw,
        ${last(INVOICED, SAYS_AMOUNT)} AS invoiced_says, ${last(INVOICED, CURRENCY)} AS invoiced_cur,
        countIf(type = ${CANCELLED}) > 0 AS cancelled
      FROM ${table(TABLES.events)}
      WHERE type IN ${[CREATED, POSTED, INVOICED, CANCELLED]} AND time >= ${w.from} AND time < ${w.until}
        AND subject IN (SELECT subject FROM ${table(TABLES.events)} WHERE ${captured})
      GROUP BY subject
      HAVING countIf(${captured}) > 0
    )
    ${w.channel === undefined ? sql`` : sql`WHERE channel = ${w.channel}`}`
}

/** One row per refund issued in the window: its order's channel, its amount and its credit memo. */
function refundFacts(w: ReconciliationWindow): Fragment {
  const issued = sql`type = 'retail.return.refund_issued' AND time >= ${w.from} AND time < ${w.to}`
  return sql`
    SELECT r.id AS id, r.order_id AS order_id, if(o.channel = '', 'unknown', o.channel) AS channel,
      if(r.currency = '', o.currency, r.currency) AS currency, r.amount AS amount,
      toUnixTimestamp64Milli(r.first_at) AS at,
      m.n > 0 AS credited, if(m.has_amount, m.amount, r.amount) AS credited_amount,
      if(m.currency = '', if(r.currency = '', o.currency, r.currency), m.currency) AS credited_currency
    FROM (
      SELECT subject AS id, any(extensions['orderid']) AS order_id,
        argMin(JSONExtractString(data, 'currency'), time) AS currency,
        argMin(JSONExtractFloat(data, 'amount'), time) AS amount, min(time) AS first_at
      FROM ${table(TABLES.events)}
      WHERE ${issued}
      GROUP BY subject
    ) AS r
    LEFT JOIN (
      SELECT subject AS id, argMin(JSONExtractString(data, 'channel'), time) AS channel,
        argMin(JSONExtractString(data, 'currency'), time) AS currency
      FROM ${table(TABLES.events)}
      WHERE type = 'retail.order.created'
        AND time >= ${new Date(w.from.getTime() - ORDERS_LOOKBACK_MS)} AND time < ${w.to}
        AND subject IN (SELECT extensions['orderid'] FROM ${table(TABLES.events)} WHERE ${issued})
      GROUP BY subject
    ) AS o ON o.id = r.order_id
    LEFT JOIN (${documents(
      'retail.return.credit_posted',
      w.from,
      w.until,
      sql`SELECT subject FROM ${table(TABLES.events)} WHERE ${issued}`,
    )}) AS m ON m.id = r.id
    ${w.channel === undefined ? sql`` : sql`WHERE channel = ${w.channel}`}`
}

/** An order finance cannot close on: not cancelled, and not posted or posted otherwise. */
const ORDER_UNMATCHED = sql`(NOT cancelled AND (NOT posted OR currency != posted_currency OR abs(amount - posted_amount) >= 0.005))`
/** A refund without a credit memo, or with one of another amount or currency. */
const REFUND_UNMATCHED = sql`(NOT credited OR currency != credited_currency OR abs(amount - credited_amount) >= 0.005)`

/** Per channel, stage and currency: how many and how much. */
export interface StageTotalRow {
  readonly channel: string
  readonly stage:
    | 'captured'
    | 'posted'
    | 'invoiced'
    | 'cancelled'
    | 'unmatched_orders'
    | 'refunded'
    | 'credited'
    | 'unmatched_refunds'
  readonly currency: string
  readonly n: string
  /** Ten-thousandths of the currency's unit. */
  readonly amount_minor: string
}

/** The stage totals, unmatched counts among them: one read per entity type. */
export async function reconciliationTotals(store: Store, w: ReconciliationWindow): Promise<StageTotalRow[]> {
  const [orders, refunds] = await Promise.all([
    store.query<StageTotalRow>(sql`
      SELECT channel, tupleElement(s, 1) AS stage, tupleElement(s, 2) AS currency, count() AS n,
        sum(tupleElement(s, 3)) AS amount_minor
      FROM (SELECT channel, arrayJoin([
        ('captured', currency, toInt64(round(amount * 10000)), true),
        ('posted', posted_currency, toInt64(round(posted_amount * 10000)), posted),
        ('invoiced', invoiced_currency, toInt64(round(invoiced_amount * 10000)), invoiced),
        ('cancelled', currency, toInt64(round(amount * 10000)), cancelled),
        ('unmatched_orders', currency, toInt64(round(amount * 10000)), ${ORDER_UNMATCHED})
      ]) AS s FROM (${orderFacts(w)}))
      WHERE tupleElement(s, 4)
      GROUP BY channel, stage, currency
      ORDER BY channel, stage, currency`),
    store.query<StageTotalRow>(sql`
      SELECT channel, tupleElement(s, 1) AS stage, tupleElement(s, 2) AS currency, count() AS n,
        sum(tupleElement(s, 3)) AS amount_minor
      FROM (SELECT channel, arrayJoin([
        ('refunded', currency, toInt64(round(amount * 10000)), true),
        ('credited', credited_currency, toInt64(round(credited_amount * 10000)), credited),
        ('unmatched_refunds', currency, toInt64(round(amount * 10000)), ${REFUND_UNMATCHED})
      ]) AS s FROM (${refundFacts(w)}))
      WHERE tupleElement(s, 4)
      GROUP BY channel, stage, currency
      ORDER BY channel, stage, currency`),
  ])
  return [...orders, ...refunds]
}

/** An entity of the day that finance cannot close on, and why. */
export interface UnmatchedRow {
  readonly entity_type: 'order' | 'return'
  readonly id: string
  readonly channel: string
  readonly reason: 'not_posted' | 'amount_mismatch' | 'credit_not_posted' | 'credit_mismatch'
  readonly currency: string
  readonly amount: number
  /** What the ERP posted or credited, when it did but differently. */
  readonly erp_currency: string
  readonly erp_amount: number
  readonly at: string
}

/** The first `limit` unmatched orders and refunds of the day, oldest first (their counts are in the totals). */
export async function unmatchedEntities(
  store: Store,
  w: ReconciliationWindow,
  limit: number,
): Promise<UnmatchedRow[]> {
  // Two reads side by side, merged here: a UNION of both costs more than the two.
  const [orders, refunds] = await Promise.all([
    store.query<UnmatchedRow>(sql`
      SELECT 'order' AS entity_type, id, channel,
        if(NOT posted, 'not_posted', 'amount_mismatch') AS reason, currency, amount,
        if(posted, posted_currency, '') AS erp_currency, if(posted, posted_amount, 0) AS erp_amount,
        toString(at) AS at
      FROM (${orderFacts(w)})
      WHERE ${ORDER_UNMATCHED}
      ORDER BY at, id LIMIT ${limit}`),
    store.query<UnmatchedRow>(sql`
      SELECT 'return' AS entity_type, id, channel,
        if(NOT credited, 'credit_not_posted', 'credit_mismatch') AS reason, currency, amount,
        if(credited, credited_currency, '') AS erp_currency, if(credited, credited_amount, 0) AS erp_amount,
        toString(at) AS at
      FROM (${refundFacts(w)})
      WHERE ${REFUND_UNMATCHED}
      ORDER BY at, id LIMIT ${limit}`),
  ])
  return [...orders, ...refunds]
    .sort((a, b) => Number(a.at) - Number(b.at) || a.id.localeCompare(b.id))
    .slice(0, limit)
}
