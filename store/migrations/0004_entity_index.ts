import { createTable, createView, days } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

export const entityIndex: Migration = {
  id: 4,
  name: 'entity_index',
  why: 'Everything about one order, return, SKU or shipment as one primary-key range read, fed from spans and events.',
  statements: (t, retention) => [
    ...createTable(
      {
        name: 'entity_index',
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
          // Span rows summarise one trace's spans for one entity and stage: how many, how many failed.
          'span_count UInt32 CODEC(T64, ZSTD(1))',
          'error_count UInt32 CODEC(T64, ZSTD(1))',
        ],
        engine: 'MergeTree',
        // Monthly partitions: an entity lookup spans weeks, and few parts keep that read narrow.
        partitionBy: 'toYYYYMM(time)',
        orderBy: '(entity_type, entity_id, time)',
        ttl: `toDateTime(time) + INTERVAL ${days(Math.max(retention.events, retention.spans))} DAY`,
        settings: { ttl_only_drop_parts: 1 },
        shardBy: 'cityHash64(entity_id)',
      },
      t,
    ),
    ...createView(
      {
        name: 'entity_index_spans_mv',
        from: 'spans',
        to: 'entity_index',
        // One row per entity, trace and stage (per insert block), not per span: a lifecycle needs the
        // traces that touched an entity and the stages they completed; the spans themselves are one
        // trace read away. This keeps the index (and ingest's write cost) a fraction of the spans.
        select: (from) =>
          `SELECT e.1 AS entity_type, e.2 AS entity_id, min(timestamp) AS time, 'span' AS kind, ` +
          `argMin(name, timestamp) AS name, argMin(system, timestamp) AS system, any(connector) AS connector, ` +
          `any(flow) AS flow, stage, toString(argMax(status_code, timestamp)) AS status, any(location) AS location, ` +
          `trace_id, argMin(span_id, timestamp) AS span_id, '' AS event_source, '' AS event_id, ` +
          `toUInt32(count()) AS span_count, toUInt32(countIf(status_code = 'error')) AS error_count ` +
          `FROM ${from} ARRAY JOIN entities AS e GROUP BY entity_type, entity_id, trace_id, stage`,
      },
      t,
    ),
    ...createView(
      {
        name: 'entity_index_events_mv',
        from: 'business_events',
        to: 'entity_index',
        select: (from) =>
          `SELECT e.1 AS entity_type, e.2 AS entity_id, time, 'event' AS kind, type AS name, system, ` +
          `connector, flow, '' AS stage, '' AS status, location, trace_id, span_id, ` +
          `source AS event_source, id AS event_id, 0 AS span_count, 0 AS error_count FROM ${from} ARRAY JOIN entities AS e`,
      },
      t,
    ),
  ],
}
