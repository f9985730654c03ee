/** Thrown by a write past a `Bytes`'s limit. */
export class TooLarge extends Error {
  constructor(readonly limit: number) {
    super(`more than ${limit} bytes`)
  }
}

/**
 * A growable byte buffer with the primitives of ClickHouse's Native format: little-endian numbers,
 * LEB128 lengths and length-prefixed UTF-8 strings. Values are written straight into one Buffer that
 * doubles when full, so a block of thousands of rows costs a few allocations, not one per value.
 */
export class Bytes {
  private buf: Buffer
  /** The same memory as `buf`: its 64-bit stores take a bigint without Buffer's bigint arithmetic. */
  private data: DataView
  private len = 0
  /**
   * The most it may hold: a write past it throws `TooLarge`. What a request becomes can be far larger
   * than the request (a long scope name is copied into each of its spans), so it is bounded as it grows.
   */
  limit = Number.POSITIVE_INFINITY

  constructor(capacity = 1024) {
    this.buf = Buffer.allocUnsafe(capacity)
    this.data = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length)
  }

  /** Makes room for `n` more bytes. */
  private reserve(n: number): void {
    const need = this.len + n
    if (need <= this.buf.length) return
    if (need > this.limit) throw new TooLarge(this.limit)
    let size = this.buf.length * 2
    while (size < need) size *= 2
    size = Math.min(size, Math.max(need, this.limit))
    const grown = Buffer.allocUnsafe(size)
    this.buf.copy(grown, 0, 0, this.len)
    this.buf = grown
    this.data = new DataView(grown.buffer, grown.byteOffset, grown.length)
  }

  /** Bytes it can hold before it grows. */
  get capacity(): number {
    return this.buf.length
  }

  /** Empties the buffer, keeping its memory for the next use. */
  clear(): void {
    this.len = 0
  }

  /** The bytes written so far: a view, valid until the next write. */
  view(): Buffer {
    return this.buf.subarray(0, this.len)
  }

  /** A copy of the bytes written so far. */
  copy(): Buffer {
    // Not Buffer.from: that zero-fills the new memory first, a pass over a block's bytes for nothing.
    const out = Buffer.allocUnsafe(this.len)
    out.set(this.view())
    return out
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length)
    this.buf.set(b, this.len)
    this.len += b.length
  }

  /** UInt8, or Int8/Enum8 values from 0 to 127. */
  uint8(v: number): void {
    this.reserve(1)
    this.buf[this.len++] = v
  }

  uint32(v: number): void {
    this.reserve(4)
    this.len = this.buf.writeUInt32LE(v, this.len)
  }

  /** UInt64 from a JS number: enough for counts and offsets. */
  uint64(v: number): void {
    this.reserve(8)
    this.buf.writeUInt32LE(v % 0x1_0000_0000, this.len)
    this.len = this.buf.writeUInt32LE(Math.floor(v / 0x1_0000_0000), this.len + 4)
  }

  /**
   * Int64 (DateTime64 ticks). An OTLP time is a UInt64: one past 2262 (never a real one) wraps
   * rather than throwing, so it cannot fail the whole block.
   */
  int64(v: bigint): void {
    this.reserve(8)
    this.data.setBigInt64(this.len, v, true)
    this.len += 8
  }

  /** UInt64 from a bigint; out-of-range values wrap rather than throw, like int64. */
  bigUint64(v: bigint): void {
    this.reserve(8)
    this.data.setBigUint64(this.len, v, true)
    this.len += 8
  }

  /** LEB128, as Native writes lengths and counts; `v` below 2^32. */
  varint(v: number): void {
    this.reserve(5)
    const buf = this.buf
    let p = this.len
    while (v >= 0x80) {
      buf[p++] = (v & 0x7f) | 0x80
      v >>>= 7
    }
    buf[p++] = v
    this.len = p
  }

  /**
   * A String value: its UTF-8 length, then the bytes. Lone surrogates become U+FFFD, as OTLP asks
   * receivers to repair invalid text. Most values are short ASCII (ids, names, enum-like
   * attributes): those are copied by hand, which is cheaper than a call into Buffer.write each.
   */
  string(s: string): void {
    const n = s.length
    // At most 42 UTF-16 units are at most 126 bytes: the length is one byte, written after the text.
    if (n <= 42) {
      this.reserve(1 + 3 * n)
      const buf = this.buf
      const start = this.len + 1
      let p = start
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) {
          p = start + buf.write(s, start)
          break
        }
        buf[p++] = c
      }
      buf[this.len] = p - start
      this.len = p
      return
    }
    const size = Buffer.byteLength(s)
    this.varint(size)
    this.reserve(size)
    this.len += this.buf.write(s, this.len)
  }
}
