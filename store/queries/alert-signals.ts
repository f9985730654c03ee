import { ERROR_KIND_ATTRIBUTE, INVENTORY_EVENTS } from '../../core/vocabulary.ts'
import type { Store } from '../client.ts'
import { sql, table, typed } from '../sql.ts'
import { TABLES } from '../tables.ts'
import { type FlowShape, withAwaitedStage } from './flow-stages.ts'
import { flowEntitiesAsOf } from './flow-state.ts'

/** The business signals threshold alert rules watch, each as (key, value) rows. */

/**
 * Overdue entities per stage they are waiting for (1-based index into the flow's stages; an unconfirmed
 * stage too), from the flow state by the stuck list's rule (`withAwaitedStage`), so the alert and the list agree.
 */
export async function stuckPerStage(
  store: Store,
  q: { flow: FlowShape; maxDelayMs: readonly number[]; since: Date; now: Date },
) {
  const limits = typed(q.maxDelayMs, 'Array(Int64)')
  return store.query<{ stage: number; n: string }>(sql`
    SELECT awaited AS stage, count() AS n
    FROM (${withAwaitedStage(q.flow, await flowEntitiesAsOf(store, q.flow, q.since, q.now))})
    WHERE terminated = 0 AND awaited > 0 AND arrayElement(${limits}, awaited) > 0
      AND ${q.now.getTime()} - ts[awaited_after] > arrayElement(${limits}, awaited)
    GROUP BY stage`)
}

/** Open exceptions per connector. */
export async function openExceptionsPerConnector(store: Store) {
  return store.query<{ connector: string; n: string }>(sql`
    SELECT connector, count() AS n FROM ${table(TABLES.exceptions)} FINAL
    WHERE status = 'open' GROUP BY connector`)
}

/**
 * Per channel, the SKU locations whose last publication promises more than the source of truth has
 * available now (an oversell risk), over changes in [since, now).
 */
export async function oversellRiskPerChannel(store: Store, since: Date, now: Date) {
  return store.query<{ channel: string; n: string }>(sql`
    SELECT p.channel AS channel, countIf(p.quantity > a.available) AS n
    FROM (
      SELECT subject AS sku, location AS loc, JSONExtractString(argMax(data, time), 'channel') AS channel_name,
        JSONExtractFloat(argMax(data, time), 'quantity') AS quantity, channel_name AS channel
      FROM ${table(TABLES.events)}
      WHERE type = ${INVENTORY_EVENTS.published} AND time >= ${since} AND time < ${now}
      GROUP BY sku, loc, JSONExtractString(data, 'channel')
    ) AS p
    INNER JOIN (
      SELECT subject AS sku, location AS loc, JSONExtractFloat(argMax(data, time), 'available') AS available
      FROM ${table(TABLES.events)}
      WHERE type = ${INVENTORY_EVENTS.adjusted} AND time >= ${since} AND time < ${now}
      GROUP BY sku, loc
    ) AS a ON p.sku = a.sku AND p.loc = a.loc
    GROUP BY channel`)
}

/** Sync runs and successes per connector in [since, now); runs that failed on their data are not counted. */
export async function connectorRuns(store: Store, since: Date, now: Date) {
  return store.query<{ connector: string; runs: string; ok: string }>(sql`
    SELECT connector, count() AS runs, countIf(status_code != 'error') AS ok
    FROM ${table(TABLES.spans)}
    WHERE timestamp >= ${since} AND timestamp < ${now} AND kind = 'consumer' AND startsWith(name, 'sync ')
      AND NOT (status_code = 'error' AND attributes[${ERROR_KIND_ATTRIBUTE}] = 'data')
    GROUP BY connector`)
}
