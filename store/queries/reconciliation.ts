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
  FROM ${table(TABLES.events)} FINAL
  WHERE type = ${type} AND time >= ${from} AND time < ${until} AND subject IN (${of})
  GROUP BY subject`

/** One row per order captured in the window: its channel, amount and what the ERP did with it. */
function orderFacts(w: ReconciliationWindow): Fragment {
  const captured = sql`type = 'retail.order.created' AND time >= ${w.from} AND time < ${w.to}`
  const later = (type: string) =>
    documents(type, w.from, w.until, sql`SELECT subject FROM ${table(TABLES.events)} WHERE ${captured}`)
  return sql`
    SELECT c.id AS id, c.channel AS channel, c.currency AS currency, c.amount AS amount,
      toUnixTimestamp64Milli(c.first_at) AS at,
      p.n > 0 AS posted, if(p.has_amount, p.amount, c.amount) AS posted_amount,
      if(p.currency = '', c.currency, p.currency) AS posted_currency,
      i.n > 0 AS invoiced, if(i.has_amount, i.amount, c.amount) AS invoiced_amount,
      if(i.currency = '', c.currency, i.currency) AS invoiced_currency,
      x.n > 0 AS cancelled
    FROM (
      SELECT subject AS id, argMin(JSONExtractString(data, 'channel'), time) AS channel,
        argMin(JSONExtractString(data, 'currency'), time) AS currency,
        argMin(JSONExtractFloat(data, 'total'), time) AS amount, min(time) AS first_at
      FROM ${table(TABLES.events)} FINAL
      WHERE ${captured}
      GROUP BY subject
    ) AS c
    LEFT JOIN (${later('retail.order.erp_posted')}) AS p ON p.id = c.id
    LEFT JOIN (${later('retail.order.invoiced')}) AS i ON i.id = c.id
    LEFT JOIN (${later('retail.order.cancelled')}) AS x ON x.id = c.id
    ${w.channel === undefined ? sql`` : sql`WHERE c.channel = ${w.channel}`}`
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
      FROM ${table(TABLES.events)} FINAL
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

/** Per channel, stage and currency: how many and how much. */
export interface StageTotalRow {
  readonly channel: string
  readonly stage: 'captured' | 'posted' | 'invoiced' | 'cancelled' | 'refunded' | 'credited'
  readonly currency: string
  readonly n: string
  /** Ten-thousandths of the currency's unit. */
  readonly amount_minor: string
}

export async function reconciliationTotals(store: Store, w: ReconciliationWindow): Promise<StageTotalRow[]> {
  const [orders, refunds] = await Promise.all([
    store.query<StageTotalRow>(sql`
      SELECT channel, tupleElement(s, 1) AS stage, tupleElement(s, 2) AS currency, count() AS n,
        sum(tupleElement(s, 3)) AS amount_minor
      FROM (SELECT channel, arrayJoin([
        ('captured', currency, toInt64(round(amount * 10000)), true),
        ('posted', posted_currency, toInt64(round(posted_amount * 10000)), posted),
        ('invoiced', invoiced_currency, toInt64(round(invoiced_amount * 10000)), invoiced),
        ('cancelled', currency, toInt64(round(amount * 10000)), cancelled)
      ]) AS s FROM (${orderFacts(w)}))
      WHERE tupleElement(s, 4)
      GROUP BY channel, stage, currency
      ORDER BY channel, stage, currency`),
    store.query<StageTotalRow>(sql`
      SELECT channel, tupleElement(s, 1) AS stage, tupleElement(s, 2) AS currency, count() AS n,
        sum(tupleElement(s, 3)) AS amount_minor
      FROM (SELECT channel, arrayJoin([
        ('refunded', currency, toInt64(round(amount * 10000)), true),
        ('credited', credited_currency, toInt64(round(credited_amount * 10000)), credited)
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

export interface UnmatchedCount {
  readonly channel: string
  readonly entity_type: 'order' | 'return'
  readonly n: string
}

const countsOf = (unmatched: Fragment) => sql`
  SELECT channel, entity_type, count() AS n FROM (${unmatched})
  GROUP BY channel, entity_type ORDER BY channel, entity_type`

/** Unmatched orders and refunds of the day (none listed with `limit` 0), oldest first, and how many there are in all per channel. */
export async function unmatchedEntities(
  store: Store,
  w: ReconciliationWindow,
  limit: number,
): Promise<{ rows: UnmatchedRow[]; counts: UnmatchedCount[] }> {
  const unmatched = sql`
    SELECT 'order' AS entity_type, id, channel,
      if(NOT posted, 'not_posted', 'amount_mismatch') AS reason, currency, amount,
      if(posted, posted_currency, '') AS erp_currency, if(posted, posted_amount, 0) AS erp_amount, at
    FROM (${orderFacts(w)})
    WHERE NOT cancelled AND (NOT posted OR currency != posted_currency OR abs(amount - posted_amount) >= 0.005)
    UNION ALL
    SELECT 'return' AS entity_type, id, channel,
      if(NOT credited, 'credit_not_posted', 'credit_mismatch') AS reason, currency, amount,
      if(credited, credited_currency, '') AS erp_currency, if(credited, credited_amount, 0) AS erp_amount, at
    FROM (${refundFacts(w)})
    WHERE NOT credited OR currency != credited_currency OR abs(amount - credited_amount) >= 0.005`
  if (limit === 0) return { rows: [], counts: await store.query(countsOf(unmatched)) }
  const [rows, counts] = await Promise.all([
    store.query<UnmatchedRow>(sql`
      SELECT entity_type, id, channel, reason, currency, amount, erp_currency, erp_amount, toString(at) AS at
      FROM (${unmatched}) ORDER BY at, id LIMIT ${limit}`),
    store.query<UnmatchedCount>(countsOf(unmatched)),
  ])
  return { rows, counts }
}
