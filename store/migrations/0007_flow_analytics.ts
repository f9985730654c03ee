import { addColumn, createTable, createView, days, replaceView } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

/** Latency quantiles kept as mergeable states, so minutes add up to any range. */
const LATENCY_STATE = 'AggregateFunction(quantiles(0.5, 0.95, 0.99), UInt64)'

export const flowAnalytics: Migration = {
  id: 7,
  name: 'flow_analytics',
  why: 'Per-minute rollups for flow metrics and the system map, and the replay that completed an entity row.',
  statements: (t, retention) => [
    // Which replay (callback `webhook-id`) produced a row: a stage completed by a replay says so.
    ...addColumn('entity_index', "replay_id String DEFAULT '' CODEC(ZSTD(1))", t),
    ...replaceView(
      {
        name: 'entity_index_spans_mv',
        from: 'spans',
        to: 'entity_index',
        select: (from) =>
          `SELECT e.1 AS entity_type, e.2 AS entity_id, min(timestamp) AS time, 'span' AS kind, ` +
          `argMin(name, timestamp) AS name, argMin(system, timestamp) AS system, any(connector) AS connector, ` +
          `any(flow) AS flow, stage, toString(argMax(status_code, timestamp)) AS status, any(location) AS location, ` +
          `trace_id, argMin(span_id, timestamp) AS span_id, '' AS event_source, '' AS event_id, ` +
          `toUInt32(count()) AS span_count, toUInt32(countIf(status_code = 'error')) AS error_count, ` +
          `max(attributes['signalbox.replay.id']) AS replay_id ` +
          `FROM ${from} ARRAY JOIN entities AS e GROUP BY entity_type, entity_id, trace_id, stage`,
      },
      t,
    ),
    ...replaceView(
      {
        name: 'entity_index_events_mv',
        from: 'business_events',
        to: 'entity_index',
        select: (from) =>
          `SELECT e.1 AS entity_type, e.2 AS entity_id, time, 'event' AS kind, type AS name, system, ` +
          `connector, flow, '' AS stage, '' AS status, location, trace_id, span_id, ` +
          `source AS event_source, id AS event_id, 0 AS span_count, 0 AS error_count, ` +
          `extensions['replayid'] AS replay_id FROM ${from} ARRAY JOIN entities AS e`,
      },
      t,
    ),
    // Spans per minute by flow, stage, connector, system and service: failure rates and latency
    // for any range without touching the spans.
    ...createTable(
      {
        name: 'flow_minutes',
        columns: [
          'minute DateTime CODEC(Delta(4), ZSTD(1))',
          'flow LowCardinality(String)',
          'stage LowCardinality(String)',
          'connector LowCardinality(String)',
          'system LowCardinality(String)',
          'service_name LowCardinality(String)',
          'spans SimpleAggregateFunction(sum, UInt64)',
          'errors SimpleAggregateFunction(sum, UInt64)',
          `duration_ns ${LATENCY_STATE}`,
        ],
        engine: 'AggregatingMergeTree',
        partitionBy: 'toDate(minute)',
        orderBy: '(flow, minute, connector, system, stage, service_name)',
        ttl: `minute + INTERVAL ${days(retention.spans)} DAY`,
        settings: { ttl_only_drop_parts: 1 },
        shardBy: 'rand()',
      },
      t,
    ),
    ...createView(
      {
        name: 'flow_minutes_mv',
        from: 'spans',
        to: 'flow_minutes',
        select: (from) =>
          `SELECT toStartOfMinute(timestamp) AS minute, flow, stage, connector, system, service_name, ` +
          `count() AS spans, countIf(status_code = 'error') AS errors, ` +
          `quantilesState(0.5, 0.95, 0.99)(duration_ns) AS duration_ns ` +
          `FROM ${from} GROUP BY minute, flow, stage, connector, system, service_name`,
      },
      t,
    ),
    // Calls between services per minute. A parent and its child arrive from different services'
    // exporters, so the edge needs a join: the api recomputes recent minutes (store/rollups.ts) and
    // the newest computation of a minute replaces the earlier one.
    ...createTable(
      {
        name: 'system_edges',
        columns: [
          'minute DateTime CODEC(Delta(4), ZSTD(1))',
          'source LowCardinality(String)',
          'target LowCardinality(String)',
          'calls UInt64',
          'errors UInt64',
          `duration_ns ${LATENCY_STATE}`,
          'computed_at DateTime64(3)',
        ],
        engine: 'ReplacingMergeTree',
        engineArgs: 'computed_at',
        partitionBy: 'toDate(minute)',
        orderBy: '(minute, source, target)',
        ttl: `minute + INTERVAL ${days(retention.spans)} DAY`,
        settings: { ttl_only_drop_parts: 1 },
        shardBy: 'cityHash64(source, target)',
      },
      t,
    ),
  ],
}
