import type { Store } from '../store/client.ts'
import type { TableName } from '../store/tables.ts'
import { filterBlock } from './native/filter.ts'

/**
 * How one request's rows wait in a write queue and reach the store: one payload a request, cut down
 * to some of its rows when a retry repeats rows already stored, and many payloads to one insert.
 */
export interface RowFormat<P> {
  /** Bytes the payload holds while it waits: what the queue's byte bound counts. */
  size(payload: P): number
  /** The payload with only the rows that `keep` accepts; `keep` is asked once a row, in order. */
  keep(payload: P, keep: (row: number) => boolean): P
  insert(store: Store, table: TableName, columns: readonly string[], payloads: readonly P[]): Promise<void>
}

/**
 * `JSONCompactEachRow` lines joined into one newline-terminated text: a flat string of one byte per
 * character, where the separate lines weighed twice that and more on the heap while they waited.
 */
export const jsonRows: RowFormat<string> = {
  size: (text) => text.length,
  keep(text, keep) {
    // Rows are lines: JSON escapes every newline inside a value.
    const lines = text
      .slice(0, -1)
      .split('\n')
      .filter((_, i) => keep(i))
    return lines.length > 0 ? `${lines.join('\n')}\n` : ''
  },
  insert: (store, table, columns, texts) => store.insertRows(table, columns, texts),
}

/** The request's lines as one payload of `jsonRows`. */
export const joinRows = (lines: readonly string[]): string => `${lines.join('\n')}\n`

/**
 * A block of ClickHouse's Native format a request (collector/native): outside the JS heap while it
 * waits, and copied by the engine rather than parsed (`npm run bench:insert`: about half the insert
 * time of the same rows as JSON, and under half the time to encode).
 */
export const nativeBlocks: RowFormat<Buffer> = {
  size: (block) => block.length,
  keep: filterBlock,
  insert: (store, table, columns, blocks) => store.insertNative(table, columns, blocks),
}
