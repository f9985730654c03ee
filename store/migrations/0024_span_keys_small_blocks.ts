import { days, rebuildTable } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

/**
 * Exactly-once asks `span_keys` which of a batch's spans are stored: one granule a trace id. A
 * granule is read by decompressing the whole compressed block that holds it, and blocks were the
 * engine's default (64 KiB to 1 MiB) around 1,024-row granules, so each trace id cost a block. With
 * 256-row granules in 4–8 KiB blocks, a lookup of 2,000 fresh trace ids on 20 M keys took 73 ms
 * instead of 179, and a retry's 111 instead of 300 (`npm run bench:keys`), for 12.4 bytes a key on
 * disk instead of 11.0; the lookup runs beside every write. A table's granularity cannot be altered, so the table is rebuilt; its view follows
 * the name and feeds the new one.
 */
export const spanKeysSmallBlocks: Migration = {
  id: 24,
  name: 'span_keys_small_blocks',
  why: 'Span keys in 256-row granules and 4–8 KiB compressed blocks: an exactly-once lookup decompresses a few KiB a trace, not a block of up to 1 MiB.',
  statements: (t, retention) => [
    ...rebuildTable(
      {
        name: 'span_keys',
        columns: [],
        engine: 'MergeTree',
        partitionBy: 'toDate(timestamp)',
        orderBy: 'trace_id',
        ttl: `toDateTime(timestamp) + INTERVAL ${days(retention.spans)} DAY`,
        settings: {
          ttl_only_drop_parts: 1,
          index_granularity: 256,
          min_compress_block_size: 4096,
          max_compress_block_size: 8192,
        },
        shardBy: 'cityHash64(trace_id)',
      },
      '_m24',
      [],
      t,
    ),
  ],
}
