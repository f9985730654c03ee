import { addColumn, createTable, days } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

export const replays: Migration = {
  id: 9,
  name: 'replays',
  why: 'Replays and re-syncs as an append-only audit trail, bulk replay jobs, and who changed an exception and why.',
  statements: (t, retention) => [
    // Each state change of an exception says who made it and why (an operator, a replay, a later run).
    ...addColumn('exceptions', "status_by String DEFAULT ''", t),
    ...addColumn('exceptions', "status_reason String DEFAULT ''", t),
    ...addColumn('exceptions', 'replay_count UInt32 DEFAULT 0', t),
    // What each connector's callback can run: step input schemas (JSON Schema) and re-sync support.
    ...addColumn('connectors', "steps String DEFAULT '[]' CODEC(ZSTD(3))", t),
    // Append-only: a row when a replay is requested and one when it ends; the latest row is its state.
    ...createTable(
      {
        name: 'replays',
        columns: [
          'at DateTime64(3)',
          'id String',
          'kind LowCardinality(String)',
          'exception_id String',
          'job_id String',
          'connector LowCardinality(String)',
          'step LowCardinality(String)',
          'entity_type LowCardinality(String)',
          'entity_id String',
          'status LowCardinality(String)',
          'requested_by String',
          'reason String',
          'payload_diff String CODEC(ZSTD(3))',
          'approved_by String',
          'http_status UInt16',
          'error String',
          'original_trace_id String',
          'trace_id String',
        ],
        engine: 'MergeTree',
        partitionBy: 'toYYYYMM(at)',
        orderBy: '(id, at)',
        ttl: `toDateTime(at) + INTERVAL ${days(retention.events)} DAY`,
        shardBy: 'cityHash64(id)',
      },
      t,
    ),
    ...createTable(
      {
        name: 'replay_jobs',
        columns: [
          'id String',
          'version UInt64',
          'filter String',
          'exception_ids Array(String)',
          'status LowCardinality(String)',
          'per_minute UInt32',
          'requested_by String',
          'reason String',
          'created_at DateTime64(3)',
          'updated_at DateTime64(3)',
        ],
        engine: 'ReplacingMergeTree',
        engineArgs: 'version',
        orderBy: 'id',
        shardBy: 'cityHash64(id)',
      },
      t,
    ),
  ],
}
