import { createTable, createView } from '../ddl.ts'
import { TTL_SETTINGS, ttlExpressions } from '../retention.ts'
import { TABLES, VIEWS } from '../tables.ts'
import type { Migration } from './types.ts'

export const entityIndex: Migration = {
  id: 4,
  name: 'entity_index',
  why: 'Everything about one order, return, SKU or shipment as one primary-key range read, fed from spans and events.',
  statements: (t, retention) => [
    ...createTable(
      {
        name: TABLES.entityIndex,
        columns: [
          'entity_type LowCardinality(String)',
          'entity_id String CODEC(ZSTD(1))',
          'time DateTime64(9) CODEC(Delta(8), ZSTD(1))',
          "kind Enum8('span' = 1, 'event' = 2)",
          'name LowCardinality(String) CODEC(ZSTD(1))',
          'system LowCardinality(String) CODEC(ZSTD(1))',
          'connector LowCardinality(String) CODEC(ZSTD(1))',
          'flow LowCardinality(String) CODEC(ZSTD(1))',
          'stage LowCardinality(String) CODEC(ZSTD(1))',
          'status LowCardinality(String) CODEC(ZSTD(1))',
          'location LowCardinality(String) CODEC(ZSTD(1))',
          'trace_id String CODEC(ZSTD(1))',
          'span_id String CODEC(ZSTD(1))',
          'event_source LowCardinality(String) CODEC(ZSTD(1))',
          'event_id String CODEC(ZSTD(1))',
        ],
        engine: 'MergeTree',
        // Monthly partitions: an entity lookup spans weeks, and few parts keep that read narrow.
        partitionBy: 'toYYYYMM(time)',
        orderBy: '(entity_type, entity_id, time)',
        ttl: ttlExpressions(retention)[TABLES.entityIndex],
        settings: TTL_SETTINGS,
        shardBy: 'cityHash64(entity_id)',
      },
      t,
    ),
    ...createView(
      {
        name: VIEWS.entityIndexFromSpans,
        from: TABLES.spans,
        to: TABLES.entityIndex,
        select: (from) =>
          `SELECT e.1 AS entity_type, e.2 AS entity_id, timestamp AS time, 'span' AS kind, name, system, ` +
          `connector, flow, stage, toString(status_code) AS status, location, trace_id, span_id, ` +
          `'' AS event_source, '' AS event_id FROM ${from} ARRAY JOIN entities AS e`,
      },
      t,
    ),
    ...createView(
      {
        name: VIEWS.entityIndexFromEvents,
        from: TABLES.events,
        to: TABLES.entityIndex,
        select: (from) =>
          `SELECT e.1 AS entity_type, e.2 AS entity_id, time, 'event' AS kind, type AS name, system, ` +
          `connector, flow, '' AS stage, '' AS status, location, trace_id, span_id, ` +
          `source AS event_source, id AS event_id FROM ${from} ARRAY JOIN entities AS e`,
      },
      t,
    ),
  ],
}
