import { modifySettings } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

/**
 * Every write makes a small part in each table it reaches, and the engine's background merges then
 * rewrite those parts into bigger ones, level after level. With the default selector (base 5) a span
 * was rewritten about once per fivefold growth of its part; base 20 waits for parts of about twenty
 * times the size, so a span is rewritten about half as often (log 20 against log 5) for more parts at
 * a time in each partition. `npm run bench:merges` (back-to-back inserts of 16,384 spans, merges
 * included, medians of 3): 20.3 µs of the engine's CPU a span against 26.4 with the defaults; under
 * `npm run bench:ingest` at 64 senders × 512 the collector's process used about a quarter less CPU a
 * span (docs/benchmarks.md).
 *
 * Only the tables whose reads are a sort-key range or a raw scan: spans and logs, and the
 * per-entity and per-trace indexes. `span_keys` keeps the default: every batch's exactly-once lookup
 * probes each of its parts. The rollups keep it too: their merges are what collapse their rows.
 * A table rebuilt later (rebuildTable) takes the settings of its new spec: that spec must carry these.
 * Since then, migration 27 rebuilt `trace_index` on the engine's defaults (a lookup probes its every
 * part, as it did `span_keys`'), and migration 28 dropped `span_keys`.
 */
export const FEWER_MERGES = { merge_selector_base: 20 } as const
export const FEWER_MERGES_TABLES = ['spans', 'logs', 'entity_index', 'trace_index'] as const

export const fewerMerges: Migration = {
  id: 25,
  name: 'fewer_merges',
  why: 'Spans, logs and the entity and trace indexes merged about half as often (merge_selector_base 20): less engine CPU a span, for more parts at a time.',
  statements: (t) => FEWER_MERGES_TABLES.flatMap((table) => modifySettings(table, FEWER_MERGES, t)),
}
