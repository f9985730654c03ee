import { createTable, days } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

export const tokens: Migration = {
  id: 10,
  name: 'tokens',
  why: 'API tokens and ingestion keys (hashed secrets, roles, expiry, revocation), and the audit log of actions.',
  statements: (t, retention) => [
    ...createTable(
      {
        name: 'api_tokens',
        columns: [
          'id String',
          'version UInt64',
          'name String',
          'kind LowCardinality(String)',
          'role LowCardinality(String)',
          // SHA-256 of the secret: the secret itself is shown once and never stored.
          'secret_hash String',
          'created_by String',
          'created_at DateTime64(3)',
          'expires_at Nullable(DateTime64(3))',
          'revoked_at Nullable(DateTime64(3))',
        ],
        engine: 'ReplacingMergeTree',
        engineArgs: 'version',
        orderBy: 'id',
        shardBy: 'cityHash64(id)',
      },
      t,
    ),
    // Append-only: every state-changing request by an operator or an admin (who, what, when, from where).
    ...createTable(
      {
        name: 'audit_log',
        columns: [
          'at DateTime64(3)',
          'actor String',
          'role LowCardinality(String)',
          'token_id String',
          'method LowCardinality(String)',
          'route LowCardinality(String)',
          'path String',
          'status UInt16',
          'remote String',
          'request_id String',
        ],
        engine: 'MergeTree',
        partitionBy: 'toYYYYMM(at)',
        orderBy: '(at, actor)',
        ttl: `toDateTime(at) + INTERVAL ${days(retention.events)} DAY`,
        shardBy: 'cityHash64(actor)',
      },
      t,
    ),
  ],
}
