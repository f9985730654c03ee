import { addColumn, replaceView } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

export const entityLinks: Migration = {
  id: 11,
  name: 'entity_links',
  why: "Each event row of the entity index keeps the event's other entities: a lifecycle's links without another read.",
  statements: (t) => [
    ...addColumn(
      'entity_index',
      'related Array(Tuple(LowCardinality(String), String)) DEFAULT [] CODEC(ZSTD(1))',
      t,
    ),
    ...replaceView(
      {
        name: 'entity_index_events_mv',
        from: 'business_events',
        to: 'entity_index',
        select: (from) =>
          `SELECT e.1 AS entity_type, e.2 AS entity_id, time, 'event' AS kind, type AS name, system, ` +
          `connector, flow, '' AS stage, '' AS status, location, trace_id, span_id, ` +
          `source AS event_source, id AS event_id, 0 AS span_count, 0 AS error_count, ` +
          `extensions['replayid'] AS replay_id, entities AS related FROM ${from} ARRAY JOIN entities AS e`,
      },
      t,
    ),
  ],
}
