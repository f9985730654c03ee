import { createTable, days } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

/**
 * Event contracts registered through the api (those shipped in config/events are files), and every
 * event whose data broke its contract. A version is immutable: one row per type and version, the
 * first registration kept. Violations are one row per broken event, ordered for the summary the api
 * and the Event contracts page read (by type and source over a time range).
 */
export const eventContracts: Migration = {
  id: 20,
  name: 'event_contracts',
  why: 'Event contracts registered through the api, and the events whose data broke theirs.',
  statements: (t, retention) => [
    ...createTable(
      {
        name: 'event_types',
        columns: [
          'type LowCardinality(String)',
          'version String',
          'schema String CODEC(ZSTD(3))',
          'policy LowCardinality(String)',
          'registered_at DateTime64(3)',
          'registered_by String',
        ],
        // The api refuses a second, different schema for a known version; a retried one is collapsed.
        engine: 'ReplacingMergeTree',
        orderBy: '(type, version)',
        shardBy: 'cityHash64(type)',
      },
      t,
    ),
    ...createTable(
      {
        name: 'contract_violations',
        columns: [
          'time DateTime64(3) CODEC(Delta(8), ZSTD(1))',
          'type LowCardinality(String)',
          'version LowCardinality(String)',
          'source LowCardinality(String)',
          'event_id String CODEC(ZSTD(1))',
          'policy LowCardinality(String)',
          'path String CODEC(ZSTD(1))',
          'message String CODEC(ZSTD(1))',
          'example String CODEC(ZSTD(3))',
        ],
        engine: 'MergeTree',
        partitionBy: 'toDate(time)',
        orderBy: '(type, source, time)',
        ttl: `toDateTime(time) + INTERVAL ${days(retention.events)} DAY`,
        settings: { ttl_only_drop_parts: 1 },
        shardBy: 'cityHash64(type, source)',
      },
      t,
    ),
  ],
}
