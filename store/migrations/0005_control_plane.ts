import { createTable, days } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

export const controlPlane: Migration = {
  id: 5,
  name: 'control_plane',
  why: 'Exceptions reported by connectors and the connector registry, as versioned rows (the latest version wins).',
  statements: (t, retention) => [
    ...createTable(
      {
        name: 'exceptions',
        columns: [
          'id String',
          'version UInt64',
          'connector LowCardinality(String)',
          'flow LowCardinality(String)',
          'step LowCardinality(String)',
          'stage LowCardinality(String)',
          'entity_type LowCardinality(String)',
          'entity_id String',
          'error_class LowCardinality(String)',
          'error_message String CODEC(ZSTD(3))',
          'payload String CODEC(ZSTD(3))',
          'attempts UInt32',
          'occurrences UInt32',
          'status LowCardinality(String)',
          'first_seen DateTime64(3)',
          'last_seen DateTime64(3)',
          'trace_id String',
          'span_id String',
        ],
        engine: 'ReplacingMergeTree',
        engineArgs: 'version',
        orderBy: 'id',
        ttl: `toDateTime(last_seen) + INTERVAL ${days(retention.events)} DAY`,
        shardBy: 'cityHash64(id)',
      },
      t,
    ),
    ...createTable(
      {
        name: 'connectors',
        columns: [
          'id String',
          'system LowCardinality(String)',
          'flows Array(LowCardinality(String))',
          'callback_url String',
          'registered_at DateTime64(3)',
          'last_seen DateTime64(3)',
        ],
        engine: 'ReplacingMergeTree',
        engineArgs: 'last_seen',
        orderBy: 'id',
        shardBy: 'cityHash64(id)',
      },
      t,
    ),
  ],
}
