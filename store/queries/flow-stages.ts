import { sql, table, typed } from '../sql.ts'
import { TABLES } from '../tables.ts'

/** A flow as the queries need it: stages as lists of completing event types, in order. */
export interface FlowShape {
  readonly entityType: string
  readonly name: string
  readonly stageEvents: readonly (readonly string[])[]
  readonly terminalEvents: readonly string[]
}

/**
 * Each entity's first time at each stage (1-based index) from the per-entity progress table. Event
 * types of no stage are dropped here; flows are configuration, so the mapping happens at read time.
 */
export function stageTimes(flow: FlowShape, since: Date, until: Date) {
  const stages = typed(flow.stageEvents, 'Array(Array(String))')
  return sql`
    SELECT entity_id, arrayFirstIndex(evs -> has(evs, name), ${stages}) AS stage_index,
      has(${[...flow.terminalEvents]}, name) AS terminal, min(first_time) AS reached_at
    FROM ${table(TABLES.entityProgress)}
    WHERE entity_type = ${flow.entityType} AND first_time >= ${since} AND first_time < ${until}
    GROUP BY entity_id, stage_index, terminal
    HAVING stage_index > 0 OR terminal`
}
