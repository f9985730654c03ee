import { days, rebuildTable } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

/**
 * Spans were ordered by (service, name, time) for scans by service; a trace's five spans then sat in
 * five granules found by a bloom filter, and a trace read decompressed every column of all five. The
 * scans that needed that order now read rollups (flow_minutes, system_edges, sli_minutes), so spans
 * are ordered by hour, then trace: a trace is one primary-key lookup in the hour its window names
 * (trace_index), and its spans sit together. Measured on the bench store: the span read 35 → 22 ms,
 * the table a third smaller (spans of one trace share ids and times).
 */
export const spansByTrace: Migration = {
  id: 16,
  name: 'spans_by_trace',
  why: 'Spans ordered by (hour, trace id): a trace is one primary-key lookup instead of a bloom filter over five granules.',
  statements: (t, retention) =>
    rebuildTable(
      {
        name: 'spans',
        columns: [],
        engine: 'MergeTree',
        partitionBy: 'toDate(timestamp)',
        orderBy: '(toStartOfHour(timestamp), trace_id)',
        ttl: `toDateTime(timestamp) + INTERVAL ${days(retention.spans)} DAY`,
        settings: { ttl_only_drop_parts: 1, index_granularity: 8192 },
        shardBy: 'cityHash64(trace_id)',
      },
      '_m16',
      // The key finds a trace now; the bloom filter would only cost inserts and disk.
      ['DROP INDEX IF EXISTS idx_trace_id'],
      t,
    ),
}
