import { addColumn, createTable, days } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

/**
 * Flow metrics without reading every entity (store/queries/flow-tallies.ts). Each refresh of the flow
 * state adds, per minute, what its entities changed: +1 for what an entity now counts in, -1 for
 * what it counted in before. A refresh stages the entities' new rows first, writes their tallies
 * (once: a retry after a crash carries the same deduplication token), then the rows, then the mark.
 */
export const flowTallies: Migration = {
  id: 23,
  name: 'flow_tallies',
  why: 'Per-minute counts and stage-delay histograms of each flow, kept by the flow-state refresh: flow metrics read minutes, not entities.',
  statements: (t, retention) => [
    ...createTable(
      {
        name: 'flow_tallies',
        columns: [
          'flow LowCardinality(String)',
          "kind UInt8 COMMENT '1 entered, 2 reached, 3 completed, 4 terminated (by entry minute), 5 waiting (by the minute of the stage waited after), 6 stage delay (by the minute the stage was reached)'",
          'minute DateTime CODEC(Delta(4), ZSTD(1))',
          'stage UInt8',
          'channel LowCardinality(String)',
          "delay_bucket UInt16 COMMENT '0: no delay; b: about 2^((b - 1) / 16) ms'",
          'n Int64',
          // The delays' sum: a bucket's percentile is its mean, exact when its delays are equal.
          'delay_ms_sum Int64',
        ],
        engine: 'SummingMergeTree',
        engineArgs: '(n, delay_ms_sum)',
        partitionBy: 'toDate(minute)',
        orderBy: '(flow, kind, minute, stage, channel, delay_bucket)',
        ttl: `minute + INTERVAL ${days(retention.events)} DAY`,
        // A refresh retried after a crash writes its tallies again under the same token: kept once.
        settings: { ttl_only_drop_parts: 1, non_replicated_deduplication_window: 100 },
        // Deterministic: a retried refresh sends each row to the shard it went to the first time.
        shardBy: 'cityHash64(flow, minute)',
      },
      t,
    ),
    // The entities waiting for a stage, one row each (signed like the tallies), ordered so the stuck
    // list reads only those past each stage's limit: a range of the sort key per stage.
    ...createTable(
      {
        name: 'flow_waiting',
        columns: [
          'flow LowCardinality(String)',
          "awaited UInt8 COMMENT 'the stage it waits for (1-based)'",
          "since_ms Int64 COMMENT 'when it reached the stage it waits after'",
          'entity_id String',
          'awaited_after UInt8',
          'last_stage UInt8',
          'channel LowCardinality(String)',
          'last_ms Int64',
          'n Int64',
        ],
        engine: 'SummingMergeTree',
        engineArgs: '(n)',
        partitionBy: 'toYYYYMM(toDateTime(intDiv(since_ms, 1000)))',
        orderBy: '(flow, awaited, since_ms, entity_id, awaited_after, last_stage, channel, last_ms)',
        ttl: `toDateTime(intDiv(last_ms, 1000)) + INTERVAL ${days(retention.events)} DAY`,
        settings: { non_replicated_deduplication_window: 100 },
        shardBy: 'cityHash64(entity_id)',
      },
      t,
    ),
    // A refresh's new entity rows, written before its tallies so a retry computes the same ones.
    ...createTable(
      {
        name: 'flow_entities_staged',
        columns: [
          'flow LowCardinality(String)',
          'entity_id String',
          'ts Array(Int64)',
          'last_stage UInt8',
          'terminated UInt8',
          'terminated_ms Int64',
          'channel LowCardinality(String)',
          'first_ms Int64',
          'last_ms Int64',
          'version UInt64',
        ],
        engine: 'MergeTree',
        partitionBy: 'toDate(toDateTime(intDiv(version, 1000000)))',
        orderBy: '(flow, version, entity_id)',
        ttl: 'toDateTime(intDiv(version, 1000000)) + INTERVAL 1 DAY',
        settings: { ttl_only_drop_parts: 1 },
        shardBy: 'cityHash64(entity_id)',
      },
      t,
    ),
    // The flow-state version a mark commits (0: a mark from before the tallies), whether its tallies
    // are written, whether the tallies held the flow before it (0: they are built from nothing), and
    // a fingerprint of the flow's stages.
    ...addColumn('flow_state_marks', 'state_version UInt64 DEFAULT 0', t),
    ...addColumn('flow_state_marks', 'tallied UInt8 DEFAULT 0', t),
    ...addColumn('flow_state_marks', 'incremental UInt8 DEFAULT 0', t),
    // The flow's stages as configured when the state was built: another shape rebuilds it from nothing.
    ...addColumn('flow_state_marks', "shape String DEFAULT ''", t),
  ],
}
