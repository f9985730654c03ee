import { createTable, days } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

/**
 * A platform webhook (POST /v1/webhooks/:source) whose signature checked out but that its mapping
 * could not turn into a business event is kept here, redacted, with the reason, so an operator sees it
 * and fixes the mapping instead of the event vanishing. One row per source and webhook id: a platform
 * that delivers the same webhook again leaves one row, the latest.
 */
export const unmappedWebhooks: Migration = {
  id: 19,
  name: 'unmapped_webhooks',
  why: 'Platform webhooks that were signed correctly but could not be mapped to a business event, kept and visible.',
  statements: (t, retention) =>
    createTable(
      {
        name: 'unmapped_webhooks',
        columns: [
          'received_at DateTime64(3) CODEC(Delta, ZSTD(1))',
          'source LowCardinality(String)',
          'topic LowCardinality(String)',
          'webhook_id String',
          'reason String',
          'payload String CODEC(ZSTD(3))',
          'payload_bytes UInt32',
        ],
        engine: 'ReplacingMergeTree',
        engineArgs: 'received_at',
        partitionBy: 'toDate(received_at)',
        orderBy: '(source, webhook_id)',
        ttl: `toDateTime(received_at) + INTERVAL ${days(retention.events)} DAY`,
        settings: { ttl_only_drop_parts: 1 },
        shardBy: 'cityHash64(source, webhook_id)',
      },
      t,
    ),
}
