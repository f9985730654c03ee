import { addColumn, createTable, replaceView } from '../ddl.ts'
import { ttlExpressions } from '../retention.ts'
import { TABLES, VIEWS } from '../tables.ts'
import type { Migration } from './types.ts'

export const flowState: Migration = {
  id: 13,
  name: 'flow_state',
  why: "Each entity's stage times per flow, kept up to date in the background (store/flow-state.ts): stuck lists and flow metrics read them instead of grouping the progress table.",
  statements: (t, retention) => [
    // When an entity's progress last arrived (ingestion time): what changed since the last refresh.
    ...addColumn(
      TABLES.entityProgress,
      'received SimpleAggregateFunction(max, DateTime64(3)) DEFAULT toDateTime64(0, 3)',
      t,
    ),
    ...replaceView(
      {
        name: VIEWS.entityProgressFromEvents,
        from: TABLES.events,
        to: TABLES.entityProgress,
        select: (from) =>
          `SELECT e.1 AS entity_type, e.2 AS entity_id, type AS name, min(time) AS first_time, max(time) AS last_time, ` +
          `count() AS events, max(received_at) AS received FROM ${from} ARRAY JOIN entities AS e ` +
          'GROUP BY entity_type, entity_id, name',
      },
      t,
    ),
    ...createTable(
      {
        name: TABLES.flowEntities,
        columns: [
          'flow LowCardinality(String)',
          'entity_id String',
          // As entityStages (store/queries/flow-stages.ts) gives them, over all of the entity's rows.
          'ts Array(Int64)',
          'last_stage UInt8',
          'terminated UInt8',
          'terminated_ms Int64',
          // The entity's first and last activity (ms): which entities a time range reads.
          // The channel its first event named (see CHANNEL in store/queries/flow-stages.ts).
          'channel LowCardinality(String)',
          'first_ms Int64',
          'last_ms Int64',
          'version UInt64',
        ],
        engine: 'ReplacingMergeTree',
        engineArgs: 'version',
        orderBy: '(flow, entity_id)',
        ttl: ttlExpressions(retention)[TABLES.flowEntities],
        shardBy: 'cityHash64(entity_id)',
      },
      t,
    ),
    // Per flow, up to when (ingestion time) its entity state is complete.
    ...createTable(
      {
        name: TABLES.flowStateMarks,
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
