import { BadRequestError } from '../../core/errors.ts'
import { StringTable } from './string-table.ts'

/** Shared by every reader on this thread: attribute keys and names repeat across requests. */
const table = new StringTable()

/**
 * A minimal protobuf wire-format reader over one Buffer. OTLP decoding is the collector's hot path, so
 * the decoders read fields straight into records (no intermediate message objects) and take ids as hex
 * and 64-bit times as exact bigints. Every read is bounds-checked: truncated or corrupt input throws
 * a 400, never reads past the message.
 */
/**
 * Buffer's per-encoding slice methods. `toString(encoding, start, end)` dispatches to these through a
 * JS wrapper that costs more than decoding a short string (a third of decode time when profiled);
 * Node has had them since 0.x, but @types/node does not declare them.
 */
export interface SliceableBuffer extends Buffer {
  utf8Slice(start: number, end: number): string
  latin1Slice(start: number, end: number): string
  hexSlice(start: number, end: number): string
  base64Slice(start: number, end: number): string
}

export class ProtobufReader {
  pos: number
  readonly buf: SliceableBuffer
  /** The same bytes: its 64-bit reads make a bigint without Buffer's bigint arithmetic (5x faster). */
  private readonly data: DataView

  constructor(
    buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.buf = buf as SliceableBuffer
    this.data = new DataView(buf.buffer, buf.byteOffset, buf.length)
    this.pos = start
  }

  get done(): boolean {
    return this.pos >= this.end
  }

  private fail(what: string): never {
    throw new BadRequestError('invalid_protobuf', `malformed protobuf: ${what} at byte ${this.pos}`)
  }

  /** Reads a varint of up to 32 significant bits (field tags, lengths, enums, int32). */
  uint32(): number {
    let result = 0
    let shift = 0
    while (shift < 35) {
      if (this.pos >= this.end) this.fail('truncated varint')
      const b = this.buf[this.pos++] as number
      result |= (b & 0x7f) << shift
      if (b < 0x80) return result >>> 0
      shift += 7
    }
    // Negative int32 values are sign-extended to 10 bytes: skip the rest.
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) this.fail('truncated varint')
      if ((this.buf[this.pos++] as number) < 0x80) return result >>> 0
    }
    return this.fail('varint too long')
  }

  /** Reads a varint as a signed 64-bit bigint (int64 attribute values). */
  int64(): bigint {
    let lo = 0n
    let shift = 0n
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint')
      const b = this.buf[this.pos++] as number
      lo |= BigInt(b & 0x7f) << shift
      if (b < 0x80) return BigInt.asIntN(64, lo)
      shift += 7n
    }
    return this.fail('varint too long')
  }

  /** Passes over a varint of any width, as `int64` reads it, without making its value. */
  private skipVarint(): void {
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint')
      if ((this.buf[this.pos++] as number) < 0x80) return
    }
    this.fail('varint too long')
  }

  /** An int64 varint as a number, or as a decimal string beyond 2^53. */
  int64Value(): number | string {
    // Most are small and positive (a status code, a count): up to 7 bytes is under 2^49, exact in a
    // number without bigint arithmetic. Negative ones take 10 bytes and go the bigint way.
    const start = this.pos
    let value = 0
    let scale = 1
    for (let i = 0; i < 7 && this.pos < this.end; i++) {
      const b = this.buf[this.pos++] as number
      value += (b & 0x7f) * scale
      if (b < 0x80) return value
      scale *= 128
    }
    this.pos = start
    const n = this.int64()
    return n >= -9007199254740991n && n <= 9007199254740991n ? Number(n) : n.toString()
  }

  fixed64(): bigint {
    if (this.pos + 8 > this.end) this.fail('truncated fixed64')
    const v = this.data.getBigUint64(this.pos, true)
    this.pos += 8
    return v
  }

  fixed32(): number {
    if (this.pos + 4 > this.end) this.fail('truncated fixed32')
    const v = this.buf.readUInt32LE(this.pos)
    this.pos += 4
    return v
  }

  double(): number {
    if (this.pos + 8 > this.end) this.fail('truncated double')
    const v = this.buf.readDoubleLE(this.pos)
    this.pos += 8
    return v
  }

  /**
   * Ends the message that was to end at `end`. A field that ran past it means lengths that do not
   * nest; refusing them here is what keeps decoding linear (no byte is read on behalf of two parents).
   */
  close(end: number): void {
    if (this.pos !== end) this.fail('field runs past the end of its message')
  }

  /** Returns the end offset of a length-delimited field and leaves `pos` at its start. */
  lengthDelimited(): number {
    const len = this.uint32()
    const end = this.pos + len
    if (end > this.end) this.fail('length past end of message')
    return end
  }

  string(): string {
    const end = this.lengthDelimited()
    const start = this.pos
    this.pos = end
    return this.buf.utf8Slice(start, end)
  }

  /** A string that likely repeats (an attribute key, a name): short ASCII ones come from a table. */
  repeated(): string {
    const end = this.lengthDelimited()
    const start = this.pos
    this.pos = end
    return table.get(this.buf, start, end) ?? this.buf.utf8Slice(start, end)
  }

  /** Bytes as lower-case hex: trace and span ids. */
  hex(): string {
    const end = this.lengthDelimited()
    const s = this.buf.hexSlice(this.pos, end)
    this.pos = end
    return s
  }

  base64(): string {
    const end = this.lengthDelimited()
    const s = this.buf.base64Slice(this.pos, end)
    this.pos = end
    return s
  }

  /**
   * Skips the value of a field read no further, given its tag. Field number 0 is in no message: a
   * body of zeros would otherwise read as a run of empty fields, an empty request accepted.
   */
  skip(tag: number): void {
    if (tag >>> 3 === 0) this.fail('field number 0')
    const wireType = tag & 7
    switch (wireType) {
      case 0:
        this.skipVarint()
        return
      case 1:
        this.fixed64()
        return
      case 2:
        this.pos = this.lengthDelimited()
        return
      case 5:
        this.fixed32()
        return
      default:
        this.fail(`unsupported wire type ${wireType}`)
    }
  }
}
