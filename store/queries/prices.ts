import { DAY_MS } from '../../core/duration.ts'
import { type PriceEventRecord, priceStates } from '../../core/price-states.ts'
import { listedChannels, type PriceConflict, priceConflicts } from '../../core/prices.ts'
import { readingShared } from '../../core/reading.ts'
import { PRICE_EVENTS } from '../../core/vocabulary.ts'
import type { Store } from '../client.ts'
import { sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'

/** A price or promotion event about one SKU (a promotion event naming many SKUs gives one row per SKU). */
export type PriceEventRow = PriceEventRecord

const SKU_TYPES = [PRICE_EVENTS.changed, PRICE_EVENTS.published]
const PROMOTION_TYPES = [PRICE_EVENTS.promotionStarted, PRICE_EVENTS.promotionEnded]
/** A promotion event names its SKUs in `data.skus`; one without them is about its subject. */
const PROMOTION_SKUS = sql`if(empty(JSONExtract(data, 'skus', 'Array(String)')), [subject], JSONExtract(data, 'skus', 'Array(String)'))`

/** One SKU's price events and the promotions that name it, oldest first. */
export async function priceEvents(store: Store, sku: string, from: Date, to: Date): Promise<PriceEventRow[]> {
  return store.query<PriceEventRow>(sql`
    SELECT type, toUnixTimestamp64Milli(time) AS time_ms, ${sku} AS sku, extensions['channel'] AS channel, data
    FROM ${table(TABLES.events)} FINAL
    WHERE ((type IN ${SKU_TYPES} AND subject = ${sku})
      OR (type IN ${PROMOTION_TYPES} AND has(${PROMOTION_SKUS}, ${sku})))
      AND time >= ${from} AND time < ${to}
    ORDER BY time
    LIMIT 10000`)
}

/**
 * What every SKU's conflicts are decided on, in [from, now]: per SKU and price list the latest price
 * in force, per SKU, price list and channel the latest publication, and every promotion per SKU.
 */
async function latestPriceRows(store: Store, from: Date, now: Date): Promise<PriceEventRow[]> {
  const [changes, published, promotions] = await Promise.all([
    store.query<PriceEventRow>(sql`
      SELECT type, toUnixTimestamp64Milli(time) AS time_ms, subject AS sku, '' AS channel, data
      FROM ${table(TABLES.events)}
      WHERE type = ${PRICE_EVENTS.changed} AND time >= ${from} AND time <= ${now}
        AND parseDateTime64BestEffortOrZero(JSONExtractString(data, 'effectiveAt'), 3) <= ${now}
      ORDER BY parseDateTime64BestEffortOrZero(JSONExtractString(data, 'effectiveAt'), 3) DESC, time DESC
      LIMIT 1 BY subject, JSONExtractString(data, 'priceList')`),
    store.query<PriceEventRow>(sql`
      SELECT ${PRICE_EVENTS.published} AS type, toUnixTimestamp64Milli(max(time)) AS time_ms, sku, channel,
        argMax(body, time) AS data
      FROM (
        SELECT time, subject AS sku, extensions['channel'] AS channel, data AS body,
          JSONExtractString(data, 'priceList') AS price_list
        FROM ${table(TABLES.events)}
        WHERE type = ${PRICE_EVENTS.published} AND time >= ${from} AND time <= ${now}
      )
      GROUP BY sku, price_list, channel`),
    store.query<PriceEventRow>(sql`
      SELECT type, toUnixTimestamp64Milli(time) AS time_ms, sku, '' AS channel, data
      FROM ${table(TABLES.events)} FINAL
      ARRAY JOIN ${PROMOTION_SKUS} AS sku
      WHERE type IN ${PROMOTION_TYPES} AND time >= ${from} AND time <= ${now}`),
  ])
  return [...changes, ...published, ...promotions].sort((a, b) => Number(a.time_ms) - Number(b.time_ms))
}

export interface UnitsSoldRow {
  readonly time_ms: string
  readonly channel: string
  readonly sku: string
  readonly quantity: number
}

/** Order lines for these SKUs captured in [from, now): what a wrong price was charged on. */
export async function unitsSold(
  store: Store,
  skus: readonly string[],
  from: Date,
  now: Date,
): Promise<UnitsSoldRow[]> {
  if (skus.length === 0) return []
  return store.query<UnitsSoldRow>(sql`
    SELECT toUnixTimestamp64Milli(time) AS time_ms, JSONExtractString(data, 'channel') AS channel,
      line.1 AS sku, line.2 AS quantity
    FROM ${table(TABLES.events)} FINAL
    ARRAY JOIN JSONExtract(data, 'lines', 'Array(Tuple(sku String, quantity Float64))') AS line
    WHERE type = 'retail.order.created' AND time >= ${from} AND time < ${now} AND line.1 IN ${skus}
    LIMIT 100000`)
}

/** Per price list, the channels prices on it were published to in [from, to). */
export async function publishedChannels(store: Store, from: Date, to: Date) {
  return store.query<{ price_list: string; channel: string }>(sql`
    SELECT DISTINCT JSONExtractString(data, 'priceList') AS price_list, extensions['channel'] AS channel
    FROM ${table(TABLES.events)}
    WHERE type = ${PRICE_EVENTS.published} AND time >= ${from} AND time < ${to}
    LIMIT 1000`)
}

/** How far back the events that decide today's conflicts are read: a price set weeks ago still holds. */
const CONFLICT_LOOKBACK_MS = 31 * DAY_MS

/** A computation of every SKU's conflicts under way, joined by callers asking at about the same time. */
interface Running {
  readonly nowMs: number
  readonly deadlineMs: number
  readonly conflicts: Promise<PriceConflict[]>
}
const running = new WeakMap<Store, Running[]>()
/** How far apart two callers' `now` may be to share one computation. */
const JOIN_MS = 5_000

/**
 * Every SKU's conflicts now, past `deadlineMs`: what GET /api/prices/conflicts lists and the
 * price_conflicts alert rule counts, from the same events over the same window. It reads every SKU's
 * latest prices whatever a caller shows of them (the totals by kind count them all): 100,000 SKUs on
 * three channels took seconds and some hundreds of MB. Callers while one is under way join it
 * rather than start another, so many at once cost one; a caller after it starts afresh.
 */
export function currentPriceConflicts(
  store: Store,
  nowMs: number,
  deadlineMs: number,
): Promise<PriceConflict[]> {
  const list = running.get(store) ?? []
  const joined = list.find((r) => r.deadlineMs === deadlineMs && Math.abs(r.nowMs - nowMs) <= JOIN_MS)
  if (joined) return joined.conflicts
  const conflicts = readingShared('price conflicts', () => computeConflicts(store, nowMs, deadlineMs))
  const entry: Running = { nowMs, deadlineMs, conflicts }
  running.set(store, [...list, entry])
  const done = () =>
    running.set(
      store,
      (running.get(store) ?? []).filter((r) => r !== entry),
    )
  entry.conflicts.then(done, done)
  return entry.conflicts
}

async function computeConflicts(store: Store, nowMs: number, deadlineMs: number): Promise<PriceConflict[]> {
  const states = priceStates(
    await latestPriceRows(store, new Date(nowMs - CONFLICT_LOOKBACK_MS), new Date(nowMs)),
  )
  const listed = listedChannels(states)
  return states.flatMap((s) => priceConflicts(s, nowMs, deadlineMs, listed.get(s.priceList)))
}
