import type { SliceableBuffer } from './protobuf-reader.ts'

/**
 * Short ASCII strings that repeat from span to span (attribute keys, span and event names, enum-like
 * values such as `POST` or `production`), kept once and handed out again when the same bytes come.
 * Reading one from the buffer costs a call into C++ and a fresh string for the garbage collector, and a
 * fresh attribute key is hashed again when it is stored as a property; a hit here is a loop over a few
 * bytes and a string already seen.
 *
 * Direct-mapped: a slot holds the last string whose bytes hashed to it, so the table's memory is fixed
 * whatever a sender invents, and a miss costs one compare and a replacement. Strings longer than
 * `MAX_INTERNED` or with non-ASCII bytes are never kept: ids and free text rarely repeat.
 */
const SLOTS = 4096
const MASK = SLOTS - 1
/** Longest string kept, in bytes: attribute keys and names are mostly under it, ids and text over. */
export const MAX_INTERNED = 40

export class StringTable {
  private readonly slots: Array<string | undefined> = new Array(SLOTS).fill(undefined)

  /** The string of `buf[start, end)` when those bytes are short ASCII, else undefined. */
  get(buf: Buffer, start: number, end: number): string | undefined {
    const n = end - start
    if (n > MAX_INTERNED) return undefined
    // FNV-1a over the bytes, refusing non-ASCII on the way.
    let h = 0x811c9dc5
    for (let i = start; i < end; i++) {
      const b = buf[i] as number
      if (b >= 0x80) return undefined
      h = Math.imul(h ^ b, 0x01000193)
    }
    const slot = (h ^ (h >>> 15)) & MASK
    const kept = this.slots[slot]
    if (kept !== undefined && kept.length === n) {
      let i = 0
      while (i < n && kept.charCodeAt(i) === buf[start + i]) i++
      if (i === n) return kept
    }
    // ASCII is its own latin1: the cheapest of Buffer's decoders.
    const s = (buf as SliceableBuffer).latin1Slice(start, end)
    this.slots[slot] = s
    return s
  }
}
