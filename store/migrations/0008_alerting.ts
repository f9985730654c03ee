import { createTable, days } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

const LABELS = 'Map(LowCardinality(String), String)'

export const alerting: Migration = {
  id: 8,
  name: 'alerting',
  why: 'Alert state, its transitions, silences, notification groups and the delivery log, and the evaluator lease.',
  statements: (t, retention) => [
    // The current state of each alert instance: the newest version wins.
    ...createTable(
      {
        name: 'alert_instances',
        columns: [
          'id String',
          'version UInt64',
          'rule LowCardinality(String)',
          'severity LowCardinality(String)',
          `labels ${LABELS}`,
          'state LowCardinality(String)',
          'reason String',
          'value Nullable(Float64)',
          'since DateTime64(3)',
          'fired_at Nullable(DateTime64(3))',
          'evaluated_at DateTime64(3)',
          "suppressed_by String DEFAULT ''",
        ],
        engine: 'ReplacingMergeTree',
        engineArgs: 'version',
        orderBy: 'id',
        shardBy: 'cityHash64(id)',
      },
      t,
    ),
    // Append-only: every state change with its reason, and acknowledgements: the alert's history. An
    // acknowledgement is a row here, not a field on the instance, so it cannot race an evaluation.
    ...createTable(
      {
        name: 'alert_transitions',
        columns: [
          'at DateTime64(3)',
          'id String',
          'rule LowCardinality(String)',
          'severity LowCardinality(String)',
          `labels ${LABELS}`,
          'from_state LowCardinality(String)',
          'to_state LowCardinality(String)',
          'reason String',
          'value Nullable(Float64)',
          // Who acted, for transitions a person made (an acknowledgement): evaluator writes leave it empty.
          "actor String DEFAULT ''",
        ],
        engine: 'MergeTree',
        partitionBy: 'toYYYYMM(at)',
        orderBy: '(at, id)',
        ttl: `toDateTime(at) + INTERVAL ${days(retention.events)} DAY`,
        shardBy: 'cityHash64(id)',
      },
      t,
    ),
    ...createTable(
      {
        name: 'silences',
        columns: [
          'id String',
          'version UInt64',
          'matchers Array(Tuple(name String, op LowCardinality(String), value String))',
          'starts_at DateTime64(3)',
          'ends_at DateTime64(3)',
          'created_by String',
          'comment String',
          'created_at DateTime64(3)',
        ],
        engine: 'ReplacingMergeTree',
        engineArgs: 'version',
        orderBy: 'id',
        shardBy: 'cityHash64(id)',
      },
      t,
    ),
    // What each notification group last sent, so group and repeat intervals survive a restart.
    ...createTable(
      {
        name: 'alert_groups',
        columns: [
          'key String',
          'version UInt64',
          'receiver LowCardinality(String)',
          'sent_at DateTime64(3)',
          'fingerprint String',
          'firing UInt32',
        ],
        engine: 'ReplacingMergeTree',
        engineArgs: 'version',
        orderBy: 'key',
        shardBy: 'cityHash64(key)',
      },
      t,
    ),
    // Every delivery attempt, append-only: the on-call engineer's "was I told, and when?".
    ...createTable(
      {
        name: 'notifications',
        columns: [
          'at DateTime64(3)',
          'notification_id String',
          'group_key String',
          'receiver LowCardinality(String)',
          'channel LowCardinality(String)',
          'status LowCardinality(String)',
          'alert_ids Array(String)',
          'attempt UInt8',
          'outcome LowCardinality(String)',
          'http_status UInt16',
          'error String',
        ],
        engine: 'MergeTree',
        partitionBy: 'toYYYYMM(at)',
        orderBy: '(at, notification_id)',
        ttl: `toDateTime(at) + INTERVAL ${days(retention.events)} DAY`,
        shardBy: 'cityHash64(notification_id)',
      },
      t,
    ),
    // One evaluator at a time: the earliest claim of each lease term wins (`claimLease` in store/queries/alerts.ts).
    ...createTable(
      {
        name: 'leases',
        columns: ['name LowCardinality(String)', 'term UInt64', 'holder String', 'claimed_at DateTime64(6)'],
        engine: 'MergeTree',
        orderBy: '(name, term, claimed_at)',
        ttl: 'toDateTime(claimed_at) + INTERVAL 1 DAY',
        shardBy: 'cityHash64(name)',
      },
      t,
    ),
  ],
}
