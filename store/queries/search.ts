import type { Store } from '../client.ts'
import { sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'

export interface EntityMatch {
  readonly entity_type: string
  readonly entity_id: string
  readonly last_ms: string
  readonly items: string
}

/**
 * Entities of the given types (orders, returns, SKUs, shipments and the configured flows' own) whose
 * id starts with the text typed: a prefix on the second key of the entity index, so each type is one
 * range read. Exact matches come first.
 */
export async function searchEntities(
  store: Store,
  entityTypes: readonly string[],
  text: string,
  since: Date,
  limit: number,
): Promise<EntityMatch[]> {
  return store.query<EntityMatch>(sql`
    SELECT entity_type, entity_id, toUnixTimestamp64Milli(max(time)) AS last_ms, count() AS items
    FROM ${table(TABLES.entityIndex)}
    WHERE entity_type IN ${[...entityTypes]} AND startsWith(entity_id, ${text}) AND time >= ${since}
    GROUP BY entity_type, entity_id
    ORDER BY entity_id = ${text} DESC, last_ms DESC
    LIMIT ${limit}`)
}

/**
 * Entities whose id ends in a number as people say it ("1042" finds SO-1042 and SO-001042, not
 * SO-21042): for a bare number typed in the search box. It reads every id in the window, so it is
 * only asked when the prefix search found nothing.
 */
export async function searchEntitiesByNumber(
  store: Store,
  entityTypes: readonly string[],
  digits: string,
  since: Date,
  limit: number,
): Promise<EntityMatch[]> {
  const number = digits.replace(/^0+/, '')
  if (!/^[0-9]+$/.test(number)) return []
  return store.query<EntityMatch>(sql`
    SELECT entity_type, entity_id, toUnixTimestamp64Milli(max(time)) AS last_ms, count() AS items
    FROM ${table(TABLES.entityIndex)}
    WHERE entity_type IN ${[...entityTypes]} AND endsWith(entity_id, ${number}) AND time >= ${since}
      AND match(entity_id, ${`(^|[^0-9])0*${number}$`})
    GROUP BY entity_type, entity_id
    ORDER BY last_ms DESC
    LIMIT ${limit}`)
}

/**
 * The entities whose business events mention a customer identifier's keyed hash (the collector stores
 * e-mails only as such hashes): the customer's orders and returns, newest first.
 */
export async function searchCustomer(
  store: Store,
  hash: string,
  since: Date,
  limit: number,
): Promise<EntityMatch[]> {
  return store.query<EntityMatch>(sql`
    SELECT e.1 AS entity_type, e.2 AS entity_id, toUnixTimestamp64Milli(max(time)) AS last_ms, count() AS items
    FROM ${table(TABLES.events)} ARRAY JOIN entities AS e
    WHERE time >= ${since} AND position(data, ${hash}) > 0
    GROUP BY entity_type, entity_id
    ORDER BY last_ms DESC
    LIMIT ${limit}`)
}
