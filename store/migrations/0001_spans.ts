import { createTable, createView, days } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

const attributes = 'Map(LowCardinality(String), String) CODEC(ZSTD(1))'

export const spans: Migration = {
  id: 1,
  name: 'spans',
  why: 'Spans ordered for search (service, name, time), hot keys promoted, plus a narrow trace-id → window index.',
  statements: (t, retention) => [
    ...createTable(
      {
        name: 'spans',
        columns: [
          'timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1))',
          'trace_id String CODEC(ZSTD(1))',
          'span_id String CODEC(ZSTD(1))',
          'parent_span_id String CODEC(ZSTD(1))',
          'trace_state String CODEC(ZSTD(1))',
          'flags UInt32 CODEC(ZSTD(1))',
          'name LowCardinality(String) CODEC(ZSTD(1))',
          "kind Enum8('unspecified' = 0, 'internal' = 1, 'server' = 2, 'client' = 3, 'producer' = 4, 'consumer' = 5)",
          'service_name LowCardinality(String) CODEC(ZSTD(1))',
          'scope_name LowCardinality(String) CODEC(ZSTD(1))',
          'scope_version LowCardinality(String) CODEC(ZSTD(1))',
          'duration_ns UInt64 CODEC(T64, ZSTD(1))',
          "status_code Enum8('unset' = 0, 'ok' = 1, 'error' = 2)",
          'status_message String CODEC(ZSTD(1))',
          'connector LowCardinality(String) CODEC(ZSTD(1))',
          'flow LowCardinality(String) CODEC(ZSTD(1))',
          'system LowCardinality(String) CODEC(ZSTD(1))',
          'stage LowCardinality(String) CODEC(ZSTD(1))',
          'location LowCardinality(String) CODEC(ZSTD(1))',
          'entities Array(Tuple(LowCardinality(String), String)) CODEC(ZSTD(1))',
          `resource_attributes ${attributes}`,
          `attributes ${attributes}`,
          'events Array(Tuple(DateTime64(9), LowCardinality(String), Map(LowCardinality(String), String))) CODEC(ZSTD(1))',
          'links Array(Tuple(String, String, String, Map(LowCardinality(String), String))) CODEC(ZSTD(1))',
          'INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1',
        ],
        engine: 'MergeTree',
        partitionBy: 'toDate(timestamp)',
        orderBy: '(service_name, name, timestamp)',
        ttl: `toDateTime(timestamp) + INTERVAL ${days(retention.spans)} DAY`,
        settings: { ttl_only_drop_parts: 1, index_granularity: 8192 },
        shardBy: 'cityHash64(trace_id)',
      },
      t,
    ),
    ...createTable(
      {
        name: 'trace_index',
        columns: [
          'trace_id String CODEC(ZSTD(1))',
          'start DateTime64(9) CODEC(Delta(8), ZSTD(1))',
          'end DateTime64(9) CODEC(Delta(8), ZSTD(1))',
          'span_count UInt32 CODEC(T64, ZSTD(1))',
        ],
        engine: 'MergeTree',
        partitionBy: 'toDate(start)',
        orderBy: '(trace_id, start)',
        ttl: `toDateTime(start) + INTERVAL ${days(retention.spans)} DAY`,
        settings: { ttl_only_drop_parts: 1 },
        shardBy: 'cityHash64(trace_id)',
      },
      t,
    ),
    // One row per trace per insert block; readers aggregate min(start)/max(end)/sum(span_count).
    ...createView(
      {
        name: 'trace_index_mv',
        from: 'spans',
        to: 'trace_index',
        select: (from) =>
          `SELECT trace_id, min(timestamp) AS start, max(addNanoseconds(timestamp, duration_ns)) AS end, ` +
          `toUInt32(count()) AS span_count FROM ${from} GROUP BY trace_id`,
      },
      t,
    ),
  ],
}
