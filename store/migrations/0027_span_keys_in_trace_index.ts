import { addColumn, days, dropView, rebuildTable, replaceView } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

/*
 * Exactly-once asked `span_keys`, a row for each stored span, which its own view wrote beside the
 * trace index's row for each trace. Each view that reads every span costs the engine its share of a
 * write, whatever it computes (docs/benchmarks.md, "Which views cost"): the keys now go into the
 * trace index's rows, as one array a trace and day, and the key table's view goes. Measured with a
 * `bench:merges` variant that did this to the store before the migration (not kept: the migration is
 * the variant): 14.6 µs of engine CPU a span against 16.5.
 *
 * The lookup reads the index by trace id, so the index takes what the key table had: small granules
 * and blocks (migration 24), where a fresh trace id costs a few KiB to decompress in each part, not a
 * block of up to 1 MiB; and the engine's default merges, not migration 25's fewer, since a lookup
 * probes every part of the days it names. Alternating `BENCH_SPANS=480000 npm run bench:ingest` at
 * 64 × 512: 43,760 / 42,916 / 45,436 spans/s against 39,719 / 40,695 / 40,435 before; with migration
 * 25's merges kept, no gain the runs could tell from noise. Rows are a trace and a day, so a key's day
 * is its row's: the lookup names the days of the spans it asks about and the partition key keeps the
 * others closed. Ordered by trace id alone, as the key table was: trace reads ask by trace id only.
 *
 * The key table itself stays, no longer written, so a collector of the release before keeps working
 * through a rolling upgrade (its lookups find nothing new); its TTL empties it, and a later migration
 * drops it. Spans of the last day stored before the upgrade get their keys from the spans table once,
 * a row a span that counts no span (trace windows and counts read as before), streamed rather than
 * grouped so a large store's day does not have to fit in memory; only while no row holds keys, and
 * migrations finish before the collector takes data.
 */
const traceRows = (from: string) =>
  'SELECT trace_id, min(timestamp) AS start, max(addNanoseconds(timestamp, duration_ns)) AS end, ' +
  `toUInt32(count()) AS span_count, groupArray(concat(span_id, service_name)) AS span_keys FROM ${from} ` +
  'GROUP BY trace_id, toDate(timestamp)'

export const spanKeysInTraceIndex: Migration = {
  id: 27,
  name: 'span_keys_in_trace_index',
  why: 'Span keys kept in the trace index, a trace and day a row: one view fewer reads every span (the key table stays, unfed, through a rolling upgrade).',
  statements: (t, retention) => [
    ...rebuildTable(
      {
        name: 'trace_index',
        columns: [],
        engine: 'MergeTree',
        partitionBy: 'toDate(start)',
        // By trace alone: a lookup's condition on the day then prunes partitions only, where with
        // `start` in the key it also sent the primary-key search down its slow path (twice the time).
        orderBy: 'trace_id',
        // Until store/retention.ts sets the outcome-dependent TTL after migrating, the longest any
        // trace is kept: the copy must not expire the failed traces kept past the successes.
        ttl: `toDateTime(start) + INTERVAL ${days(
          Math.max(retention.spans, retention.failed ?? 90, ...Object.values(retention.failedByFlow ?? {})),
        )} DAY`,
        settings: {
          ttl_only_drop_parts: 1,
          index_granularity: 256,
          min_compress_block_size: 4096,
          max_compress_block_size: 8192,
        },
        shardBy: 'cityHash64(trace_id)',
      },
      '_m27',
      [],
      t,
    ),
    ...addColumn(
      'trace_index',
      "span_keys Array(String) COMMENT 'span id + service name of each span: exactly-once' CODEC(ZSTD(1))",
      t,
    ),
    `INSERT INTO ${t.database}.trace_index (trace_id, start, end, span_count, span_keys) ` +
      'SELECT trace_id, timestamp, timestamp, 0, [concat(span_id, service_name)] ' +
      `FROM ${t.database}.spans WHERE timestamp >= now() - INTERVAL 1 DAY ` +
      `AND (SELECT count() FROM ${t.database}.trace_index WHERE notEmpty(span_keys)) = 0`,
    ...replaceView({ name: 'trace_index_mv', from: 'spans', to: 'trace_index', select: traceRows }, t),
    ...dropView('span_keys_mv', t),
  ],
}
