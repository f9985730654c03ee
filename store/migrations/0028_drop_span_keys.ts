import { dropTable } from './frozen-ddl.ts'
import type { Migration } from './types.ts'

/**
 * The key table (`span_keys`, a row a stored span) has been unfed since migration 27 moved the span
 * keys into the trace index; it stayed one release so collectors of the release before kept their
 * lookups through a rolling upgrade. Nothing reads it now. A collector from before 27 still running
 * while this applies fails its lookups and answers 503 until replaced: its senders retry, and nothing
 * acknowledged is lost.
 */
export const dropSpanKeys: Migration = {
  id: 28,
  name: 'drop_span_keys',
  why: 'Drops span_keys, unfed since migration 27 moved the span keys into the trace index: frees its disk.',
  statements: (t) => dropTable('span_keys', t),
}
