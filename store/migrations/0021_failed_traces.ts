import { createTable, createView, days } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

/**
 * Retention by outcome (store/retention.ts): the traces of failed sync runs are kept longer than the
 * successes. A trace failed when one of its spans has an error status or a connector reported an
 * exception for it; the TTL of spans, logs and the trace index keeps the rows of the traces listed
 * here past the success retention. One row per trace per insert block (the set is what is read).
 */
export const failedTraces: Migration = {
  id: 21,
  name: 'failed_traces',
  why: 'Which traces failed, and in which flow, so their spans, logs and index outlive the successes.',
  statements: (t, retention) => [
    ...createTable(
      {
        name: 'failed_traces',
        columns: [
          'trace_id String CODEC(ZSTD(1))',
          'time DateTime64(9) CODEC(Delta(8), ZSTD(1))',
          'flow LowCardinality(String)',
          'connector LowCardinality(String)',
        ],
        engine: 'MergeTree',
        partitionBy: 'toDate(time)',
        orderBy: '(trace_id, time)',
        ttl: `toDateTime(time) + INTERVAL ${days(Math.max(retention.spans, retention.failed ?? 90))} DAY`,
        settings: { ttl_only_drop_parts: 1 },
        shardBy: 'cityHash64(trace_id)',
      },
      t,
    ),
    ...createView(
      {
        name: 'failed_traces_spans_mv',
        from: 'spans',
        to: 'failed_traces',
        select: (from) =>
          `SELECT trace_id, min(timestamp) AS time, any(flow) AS flow, any(connector) AS connector ` +
          `FROM ${from} WHERE status_code = 'error' GROUP BY trace_id`,
      },
      t,
    ),
    ...createView(
      {
        name: 'failed_traces_exceptions_mv',
        from: 'exceptions',
        to: 'failed_traces',
        select: (from) =>
          `SELECT trace_id, toDateTime64(first_seen, 9) AS time, flow, connector FROM ${from} WHERE trace_id != ''`,
      },
      t,
    ),
  ],
}
