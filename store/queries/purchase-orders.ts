import { PURCHASE_ORDER_EVENTS } from '../../core/vocabulary.ts'
import type { Store } from '../client.ts'
import { sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'

/** A goods receipt: one `retail.purchase_order.received` event. */
export interface ReceiptRow {
  readonly purchase_order: string
  readonly time_ms: string
  readonly data: string
  readonly system: string
  readonly trace_id: string
}

const RECEIVED = PURCHASE_ORDER_EVENTS.received
const ALL_TYPES = Object.values(PURCHASE_ORDER_EVENTS)

/**
 * A received line disagrees when the count differs from the order, or from the ASN where one came
 * (`shipped` is null without one). Read in the engine, so a list of discrepancies reads only the
 * receipts that have one.
 */
const LINES = sql`JSONExtract(data, 'lines', 'Array(Tuple(ordered Float64, shipped Nullable(Float64), received Float64))')`
const DISAGREES = sql`arrayExists(l -> l.1 != l.3 OR (l.2 IS NOT NULL AND l.2 != l.3), ${LINES})`

/** One purchase order's goods receipts, oldest first (a partial delivery makes more than one). */
export async function receiptsOf(store: Store, purchaseOrder: string, from: Date, to: Date) {
  return store.query<ReceiptRow>(sql`
    SELECT subject AS purchase_order, toUnixTimestamp64Milli(time) AS time_ms, data, system, trace_id
    FROM ${table(TABLES.events)} FINAL
    WHERE type = ${RECEIVED} AND subject = ${purchaseOrder} AND time >= ${from} AND time < ${to}
    ORDER BY time
    LIMIT 100`)
}

/** Receipts in [from, to) with at least one line that disagrees with its order or ASN, newest first. */
export async function receiptsWithDiscrepancies(store: Store, from: Date, to: Date, limit: number) {
  return store.query<ReceiptRow>(sql`
    SELECT subject AS purchase_order, toUnixTimestamp64Milli(time) AS time_ms, data, system, trace_id
    FROM ${table(TABLES.events)} FINAL
    WHERE type = ${RECEIVED} AND time >= ${from} AND time < ${to} AND ${DISAGREES}
    ORDER BY time DESC
    LIMIT ${limit}`)
}

/** The latest purchase-order event of each of these purchase orders: how far each has got. */
export async function latestPurchaseOrderEvents(
  store: Store,
  ids: readonly string[],
  from: Date,
  to: Date,
): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map()
  // Aliases are visible in WHERE in ClickHouse: the latest type must not be called `type`.
  const rows = await store.query<{ id: string; latest: string }>(sql`
    SELECT subject AS id, argMax(type, time) AS latest FROM ${table(TABLES.events)}
    WHERE type IN ${ALL_TYPES} AND subject IN ${[...new Set(ids)]} AND time >= ${from} AND time < ${to}
    GROUP BY subject`)
  return new Map(rows.map((r) => [r.id, r.latest]))
}
