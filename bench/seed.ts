/**
 * Seeds a store with a day of realistic order-to-cash traffic, generated inside the engine (INSERT …
 * SELECT FROM numbers()): the materialized views index it exactly as they index collected data.
 *
 * Per order: seven stage runs (capture … invoice), each its own trace of five spans — the connector's
 * sync span, its client call, the called system's server span, a database span inside that system
 * and the business event's publish span — and one business event per stage reached. About 2% of
 * orders fail at the ERP and stop there; 1% are cancelled after capture; stages that would lie in
 * the future are not there yet, so recent orders are in progress.
 */
import type { FlowDefinition } from '../core/flows.ts'
import type { Store } from '../store/client.ts'
import { sql, table } from '../store/sql.ts'
import { TABLES } from '../store/tables.ts'

export const SPANS_PER_ORDER = 35
const SYSTEMS = ['storefront', 'payment', 'oms', 'erp', 'wms', 'wms', 'erp']
const STEPS = [
  'capture',
  'authorize_payment',
  'reserve_inventory',
  'post_sales_order',
  'confirm_fulfilment',
  'confirm_delivery',
  'invoice',
]
/** Seconds from capture to each stage. */
const OFFSETS = [0, 20, 75, 480, 4 * 3600, 9 * 3600, 9 * 3600 + 300]
const CHANNELS = ['web', 'web', 'web', 'app', 'app', 'marketplace', 'pos']

export interface SeedShape {
  readonly orders: number
  /** Orders are captured evenly over [end − 24 h, end). */
  readonly end: Date
}

/** The per-order columns both inserts share, from the order number `o`: id, capture time, fate. */
function orderColumns(shape: SeedShape) {
  return sql`
    concat('SO-', leftPad(toString(o), 8, '0')) AS order_id,
    ${shape.end} - toIntervalMillisecond(toUInt64((${shape.orders} - o) * (86400000 / ${shape.orders}))) AS captured_at,
    cityHash64(o) % 100 AS fate`
}

/**
 * The generator's numbers in ranges of whole orders (a multiple of 35 and of 8): at 100 M spans one
 * INSERT … SELECT runs past any sensible statement time limit, and a part of a day is better kept
 * than none when a run is stopped.
 */
function* chunks(total: number, size = 8_400_000): Generator<[number, number]> {
  for (let from = 0; from < total; from += size) yield [from, Math.min(size, total - from)]
}

export async function seedOrders(
  store: Store,
  flow: FlowDefinition,
  shape: SeedShape,
  log: (m: string) => void,
): Promise<void> {
  // Stage names and event types come from the flow as configured (flows.yaml); the first event type
  // of each stage completes it.
  const stages = flow.stages.map((st) => st.name)
  const events = flow.stages.map((st) => st.events[0] ?? '')
  const cancelled = flow.terminal[0]?.events[0] ?? ''
  if (stages.length !== STEPS.length)
    throw new Error(`the seed models ${STEPS.length} stages; ${flow.name} has ${stages.length}`)
  const t0 = performance.now()
  for (const [from, count] of chunks(shape.orders * SPANS_PER_ORDER))
    await store.command(sql`
    INSERT INTO ${table(TABLES.spans)} (timestamp, trace_id, span_id, parent_span_id, name, kind, service_name,
      scope_name, duration_ns, status_code, status_message, connector, flow, system, stage, entities, attributes)
    SELECT timestamp, trace_id, span_id, parent_span_id, name, kind, service_name, 'signalbox-seed', duration_ns,
      status_code, status_message, connector, ${flow.name}, system, stage, entities, attributes
    FROM (
      SELECT intDiv(number, ${SPANS_PER_ORDER}) AS o, intDiv(number % ${SPANS_PER_ORDER}, 5) + 1 AS s,
        number % 5 AS role, ${orderColumns(shape)},
        captured_at + toIntervalSecond(arrayElement(${OFFSETS}, s)) + toIntervalMillisecond(role * 3) AS timestamp,
        lower(hex(MD5(concat(order_id, '/', toString(s))))) AS trace_id,
        substring(lower(hex(MD5(concat('s', toString(number))))), 1, 16) AS span_id,
        multiIf(role IN (1, 4), substring(lower(hex(MD5(concat('s', toString(number - role))))), 1, 16),
          role IN (2, 3), substring(lower(hex(MD5(concat('s', toString(number - 1))))), 1, 16), '') AS parent_span_id,
        arrayElement(${stages}, s) AS stage,
        arrayElement(${SYSTEMS}, s) AS system,
        if(s <= 4, 'order-to-cash', 'fulfilment') AS connector,
        s = 4 AND fate < 2 AS failed,
        multiIf(role = 0, concat('sync ', ${flow.name}, '.', arrayElement(${STEPS}, s)),
          role IN (1, 2), concat('POST /v1/', system), role = 3, 'SELECT', concat('publish ', arrayElement(${events}, s))) AS name,
        multiIf(role = 0, 'consumer', role = 1, 'client', role = 2, 'server', role = 3, 'client', 'producer') AS kind,
        if(role IN (2, 3), system, concat('connector-', connector)) AS service_name,
        toUInt64(multiIf(role = 0, 180, role = 1, 150, role = 2, 120, role = 3, 15, 5) * 1000000 * (1 + (cityHash64(number) % 100) / 50)) AS duration_ns,
        if(failed AND role IN (0, 1, 2), 'error', 'ok') AS status_code,
        if(failed AND role IN (0, 1, 2), 'ERP answered 503', '') AS status_message,
        if(role IN (0, 1, 4), [('order', order_id)], CAST([], 'Array(Tuple(String, String))')) AS entities,
        map('http.response.status_code', if(failed, '503', '200')) AS attributes
      FROM numbers(${from}, ${count})
      WHERE timestamp < ${shape.end} AND (s <= 4 OR fate >= 2) AND (s = 1 OR fate != 99)
    )
    SETTINGS max_insert_block_size = 1048576, min_insert_block_size_rows = 1048576`)
  log(`spans seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  const t1 = performance.now()
  for (const [from, count] of chunks(shape.orders * 8))
    await store.command(sql`
    INSERT INTO ${table(TABLES.events)} (time, received_at, type, subject, source, id, specversion, datacontenttype,
      data, trace_id, span_id, connector, flow, system, entities)
    SELECT time, time, type, order_id, 'urn:signalbox:seed', concat(order_id, ':', type), '1.0', 'application/json',
      if(s = 1, concat('{"channel":"', arrayElement(${CHANNELS}, 1 + fate % ${CHANNELS.length}), '"}'), '{}'),
      lower(hex(MD5(concat(order_id, '/', toString(least(s, 7)))))), '', if(s <= 4, 'order-to-cash', 'fulfilment'),
      ${flow.name}, arrayElement(${SYSTEMS}, least(s, 7)), [('order', order_id)]
    FROM (
      SELECT intDiv(number, 8) AS o, number % 8 + 1 AS s, ${orderColumns(shape)},
        if(s = 8, ${cancelled}, arrayElement(${events}, s)) AS type,
        captured_at + toIntervalSecond(if(s = 8, 600, arrayElement(${OFFSETS}, s))) + toIntervalMillisecond(40) AS time
      FROM numbers(${from}, ${count})
      WHERE time < ${shape.end} AND if(s = 8, fate = 99, (s <= 3 OR fate >= 2) AND (s = 1 OR fate != 99))
    )
    SETTINGS max_insert_block_size = 1048576, min_insert_block_size_rows = 1048576`)
  log(`events seeded in ${((performance.now() - t1) / 1000).toFixed(1)} s`)
}
