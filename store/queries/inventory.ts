import { INVENTORY_EVENTS } from '../../core/vocabulary.ts'
import type { Store } from '../client.ts'
import { sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'

export interface InventoryEventRow {
  readonly type: string
  readonly time_ms: string
  readonly location: string
  readonly data: string
  /** What a scope judges the event by (api/visibility.ts). */
  readonly extensions: Record<string, string>
  readonly entities: Array<[string, string]>
  readonly system: string
  readonly flow: string
}

const INVENTORY_TYPES = Object.values(INVENTORY_EVENTS)

/** A SKU's stock events, oldest first: a range read per event type on the events' sort key. */
export async function inventoryEvents(
  store: Store,
  sku: string,
  location: string | undefined,
  from: Date,
  to: Date,
): Promise<InventoryEventRow[]> {
  const where = location ? sql`AND location = ${location}` : sql``
  return store.query<InventoryEventRow>(sql`
    SELECT type, toUnixTimestamp64Milli(time) AS time_ms, location, data, extensions, entities, system, flow
    FROM ${table(TABLES.events)} FINAL
    WHERE type IN ${[...INVENTORY_TYPES]} AND subject = ${sku} AND time >= ${from} AND time < ${to} ${where}
    ORDER BY time
    LIMIT 10000`)
}
