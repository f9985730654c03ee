import { createTable, createView, days } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

export const entityProgress: Migration = {
  id: 6,
  name: 'entity_progress',
  why: 'When each entity first (and last) saw each business event: funnels and stuck lists without scanning events.',
  statements: (t, retention) => [
    ...createTable(
      {
        name: 'entity_progress',
        columns: [
          'entity_type LowCardinality(String)',
          'entity_id String',
          'name LowCardinality(String)',
          'first_time SimpleAggregateFunction(min, DateTime64(9))',
          'last_time SimpleAggregateFunction(max, DateTime64(9))',
          'events SimpleAggregateFunction(sum, UInt64)',
        ],
        engine: 'AggregatingMergeTree',
        // Monthly partitions keep an entity's rows together while TTL can still drop old months.
        partitionBy: 'toYYYYMM(first_time)',
        orderBy: '(entity_type, entity_id, name)',
        ttl: `toDateTime(first_time) + INTERVAL ${days(retention.events)} DAY`,
        shardBy: 'cityHash64(entity_id)',
      },
      t,
    ),
    // Flows are configuration: the table keeps event types, the query maps them to a flow's stages.
    ...createView(
      {
        name: 'entity_progress_mv',
        from: 'business_events',
        to: 'entity_progress',
        select: (from) =>
          `SELECT e.1 AS entity_type, e.2 AS entity_id, type AS name, min(time) AS first_time, max(time) AS last_time, ` +
          `count() AS events FROM ${from} ARRAY JOIN entities AS e GROUP BY entity_type, entity_id, name`,
      },
      t,
    ),
  ],
}
