import { addColumn, createTable, days, replaceView } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

export const flowState: Migration = {
  id: 13,
  name: 'flow_state',
  why: "Each entity's stage times per flow, kept up to date in the background (store/queries/flow-state.ts): stuck lists and flow metrics read them instead of grouping the progress table.",
  statements: (t, retention) => [
    // When an entity's progress last arrived (ingestion time): what changed since the last refresh.
    ...addColumn(
      'entity_progress',
      'received SimpleAggregateFunction(max, DateTime64(3)) DEFAULT toDateTime64(0, 3)',
      t,
    ),
    ...replaceView(
      {
        name: 'entity_progress_mv',
        from: 'business_events',
        to: 'entity_progress',
        select: (from) =>
          `SELECT e.1 AS entity_type, e.2 AS entity_id, type AS name, min(time) AS first_time, max(time) AS last_time, ` +
          `count() AS events, max(received_at) AS received FROM ${from} ARRAY JOIN entities AS e ` +
          'GROUP BY entity_type, entity_id, name',
      },
      t,
    ),
    ...createTable(
      {
        name: 'flow_entities',
        columns: [
          'flow LowCardinality(String)',
          'entity_id String',
          // As entityStages (store/queries/flow-stages.ts) gives them, over all of the entity's rows.
          'ts Array(Int64)',
          'last_stage UInt8',
          'terminated UInt8',
          'terminated_ms Int64',
          // The channel its first event named (see CHANNEL in store/queries/flow-stages.ts).
          'channel LowCardinality(String)',
          // The entity's first and last activity (ms): which entities a time range reads.
          'first_ms Int64',
          'last_ms Int64',
          'version UInt64',
        ],
        engine: 'ReplacingMergeTree',
        engineArgs: 'version',
        orderBy: '(flow, entity_id)',
        ttl: `toDateTime(intDiv(last_ms, 1000)) + INTERVAL ${days(retention.events)} DAY`,
        shardBy: 'cityHash64(entity_id)',
      },
      t,
    ),
    // Per flow, up to when (ingestion time) its entity state is complete.
    ...createTable(
      {
        name: 'flow_state_marks',
        columns: ['flow LowCardinality(String)', 'watermark DateTime64(3)', 'version UInt64'],
        engine: 'ReplacingMergeTree',
        engineArgs: 'version',
        orderBy: 'flow',
        shardBy: 'cityHash64(flow)',
      },
      t,
    ),
  ],
}
