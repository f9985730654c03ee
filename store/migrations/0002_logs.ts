import { createTable, days } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

export const logs: Migration = {
  id: 2,
  name: 'logs',
  why: 'OTLP log records, tied to their trace and carrying the same business keys as spans.',
  statements: (t, retention) =>
    createTable(
      {
        name: 'logs',
        columns: [
          'timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1))',
          'observed_timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1))',
          'trace_id String CODEC(ZSTD(1))',
          'span_id String CODEC(ZSTD(1))',
          'flags UInt32 CODEC(ZSTD(1))',
          'severity_text LowCardinality(String) CODEC(ZSTD(1))',
          'severity_number UInt8',
          'service_name LowCardinality(String) CODEC(ZSTD(1))',
          'scope_name LowCardinality(String) CODEC(ZSTD(1))',
          'event_name LowCardinality(String) CODEC(ZSTD(1))',
          'body String CODEC(ZSTD(1))',
          'connector LowCardinality(String) CODEC(ZSTD(1))',
          'flow LowCardinality(String) CODEC(ZSTD(1))',
          'system LowCardinality(String) CODEC(ZSTD(1))',
          'location LowCardinality(String) CODEC(ZSTD(1))',
          'entities Array(Tuple(LowCardinality(String), String)) CODEC(ZSTD(1))',
          'resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1))',
          'attributes Map(LowCardinality(String), String) CODEC(ZSTD(1))',
          'INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1',
        ],
        engine: 'MergeTree',
        partitionBy: 'toDate(timestamp)',
        orderBy: '(service_name, timestamp)',
        ttl: `toDateTime(timestamp) + INTERVAL ${days(retention.logs)} DAY`,
        settings: { ttl_only_drop_parts: 1 },
        shardBy: 'cityHash64(trace_id)',
      },
      t,
    ),
}
