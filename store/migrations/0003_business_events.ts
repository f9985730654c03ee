import { createTable, createView, days } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

export const businessEvents: Migration = {
  id: 3,
  name: 'business_events',
  why: 'CloudEvents business events, exactly once per source+id: a key table for the collector to check, and a replacing engine as the backstop.',
  statements: (t, retention) => [
    ...createTable(
      {
        name: 'business_events',
        columns: [
          'time DateTime64(9) CODEC(Delta(8), ZSTD(1))',
          'received_at DateTime64(3) CODEC(Delta(8), ZSTD(1))',
          'type LowCardinality(String) CODEC(ZSTD(1))',
          'subject String CODEC(ZSTD(1))',
          'source LowCardinality(String) CODEC(ZSTD(1))',
          'id String CODEC(ZSTD(1))',
          'specversion LowCardinality(String)',
          'datacontenttype LowCardinality(String)',
          'dataschema String CODEC(ZSTD(1))',
          'data String CODEC(ZSTD(3))',
          'extensions Map(LowCardinality(String), String) CODEC(ZSTD(1))',
          'trace_id String CODEC(ZSTD(1))',
          'span_id String CODEC(ZSTD(1))',
          'connector LowCardinality(String) CODEC(ZSTD(1))',
          'flow LowCardinality(String) CODEC(ZSTD(1))',
          'system LowCardinality(String) CODEC(ZSTD(1))',
          'location LowCardinality(String) CODEC(ZSTD(1))',
          'entities Array(Tuple(LowCardinality(String), String)) CODEC(ZSTD(1))',
        ],
        // A retried event has the same type, subject, time, source and id: merges collapse it even
        // if two collectors raced past the key check.
        engine: 'ReplacingMergeTree',
        partitionBy: 'toDate(time)',
        orderBy: '(type, subject, time, source, id)',
        ttl: `toDateTime(time) + INTERVAL ${days(retention.events)} DAY`,
        settings: { ttl_only_drop_parts: 1 },
        shardBy: 'cityHash64(subject)',
      },
      t,
    ),
    ...createTable(
      {
        name: 'event_keys',
        columns: [
          'source LowCardinality(String) CODEC(ZSTD(1))',
          'id String CODEC(ZSTD(1))',
          'time DateTime64(9) CODEC(Delta(8), ZSTD(1))',
        ],
        engine: 'ReplacingMergeTree',
        partitionBy: 'toYYYYMM(time)',
        orderBy: '(source, id)',
        ttl: `toDateTime(time) + INTERVAL ${days(retention.events)} DAY`,
        settings: { ttl_only_drop_parts: 1 },
        shardBy: 'cityHash64(source, id)',
      },
      t,
    ),
    ...createView(
      {
        name: 'event_keys_mv',
        from: 'business_events',
        to: 'event_keys',
        select: (from) => `SELECT source, id, time FROM ${from}`,
      },
      t,
    ),
  ],
}
