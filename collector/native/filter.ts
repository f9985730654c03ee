import { Bytes } from './bytes.ts'

/*
 * Keeps some rows of a Native block: what a retried request needs when part of it is already stored.
 * Requests are encoded once, when they arrive, and the block waits in the queue as bytes; only at
 * write time is it known which rows are duplicates, and by then the records are gone. Reading our own
 * blocks back covers the types collector/native writes: String, fixed-width numbers (Enum8,
 * UInt32/64, Int64, DateTime64), Array, Map and Tuple of those.
 */

type ColumnType =
  | { readonly kind: 'string' }
  | { readonly kind: 'fixed'; readonly width: number }
  | { readonly kind: 'array'; readonly of: ColumnType }
  | { readonly kind: 'tuple'; readonly of: readonly ColumnType[] }

const WIDTHS: Record<string, number> = {
  UInt8: 1,
  Int8: 1,
  Enum8: 1,
  UInt32: 4,
  UInt64: 8,
  Int64: 8,
  DateTime64: 8,
}

/** The arguments of `Name(a, b(c, d), 'x = 1')`, split at top-level commas. */
function typeArguments(args: string): string[] {
  const out: string[] = []
  let depth = 0
  let quoted = false
  let from = 0
  for (let i = 0; i < args.length; i++) {
    const c = args[i]
    if (c === "'" && args[i - 1] !== '\\') quoted = !quoted
    else if (quoted) continue
    else if (c === '(') depth++
    else if (c === ')') depth--
    else if (c === ',' && depth === 0) {
      out.push(args.slice(from, i).trim())
      from = i + 1
    }
  }
  out.push(args.slice(from).trim())
  return out
}

function parseType(type: string): ColumnType {
  const open = type.indexOf('(')
  const name = open < 0 ? type : type.slice(0, open)
  const args = open < 0 ? [] : typeArguments(type.slice(open + 1, type.lastIndexOf(')')))
  if (name === 'String') return { kind: 'string' }
  if (name === 'Array') return { kind: 'array', of: parseType(args[0] as string) }
  if (name === 'Map') return { kind: 'array', of: { kind: 'tuple', of: args.map(parseType) } }
  if (name === 'Tuple') return { kind: 'tuple', of: args.map(parseType) }
  const width = WIDTHS[name]
  if (width === undefined) throw new Error(`Native filter: type ${type} is not one collector/native writes`)
  return { kind: 'fixed', width }
}

class Reader {
  pos = 0
  constructor(private readonly buf: Buffer) {}

  varint(): number {
    let v = 0
    let shift = 0
    for (;;) {
      const b = this.buf[this.pos++] as number
      v += (b & 0x7f) * 2 ** shift
      if (b < 0x80) return v
      shift += 7
    }
  }

  /** The raw bytes of a length-prefixed string, prefix included. */
  stringBytes(): Buffer {
    const from = this.pos
    const n = this.varint()
    this.pos += n
    return this.buf.subarray(from, this.pos)
  }

  string(): string {
    const n = this.varint()
    this.pos += n
    return this.buf.toString('utf8', this.pos - n, this.pos)
  }

  take(n: number): Buffer {
    const from = this.pos
    this.pos += n
    return this.buf.subarray(from, this.pos)
  }

  uint64(): number {
    const lo = this.buf.readUInt32LE(this.pos)
    const hi = this.buf.readUInt32LE(this.pos + 4)
    this.pos += 8
    return hi * 0x1_0000_0000 + lo
  }
}

/** Copies the rows of one column (of `rows` rows) that `keep` marks, from `r` to `out`. */
function filterColumn(type: ColumnType, rows: number, keep: Uint8Array, r: Reader, out: Bytes): void {
  switch (type.kind) {
    case 'string':
      for (let i = 0; i < rows; i++) {
        const b = r.stringBytes()
        if (keep[i]) out.bytes(b)
      }
      return
    case 'fixed':
      for (let i = 0; i < rows; i++) {
        const b = r.take(type.width)
        if (keep[i]) out.bytes(b)
      }
      return
    case 'tuple':
      for (const member of type.of) filterColumn(member, rows, keep, r, out)
      return
    case 'array': {
      // Offsets are cumulative over the whole column; the elements follow as a column of their own.
      let previous = 0
      let kept = 0
      const elements: number[] = []
      for (let i = 0; i < rows; i++) {
        const end = r.uint64()
        elements.push(end - previous)
        if (keep[i]) {
          kept += end - previous
          out.uint64(kept)
        }
        previous = end
      }
      const keepElements = new Uint8Array(previous)
      let at = 0
      for (let i = 0; i < rows; i++) {
        const n = elements[i] as number
        if (keep[i]) keepElements.fill(1, at, at + n)
        at += n
      }
      filterColumn(type.of, previous, keepElements, r, out)
      return
    }
  }
}

/** The block with only the rows whose index `keep` accepts, in their order. */
export function filterBlock(block: Buffer, keep: (row: number) => boolean): Buffer {
  const r = new Reader(block)
  const columns = r.varint()
  const rows = r.varint()
  const mask = new Uint8Array(rows)
  let kept = 0
  for (let i = 0; i < rows; i++) {
    if (!keep(i)) continue
    mask[i] = 1
    kept++
  }
  const out = new Bytes(block.length)
  out.varint(columns)
  out.varint(kept)
  for (let c = 0; c < columns; c++) {
    out.bytes(r.stringBytes()) // the column's name
    const type = r.string()
    out.string(type)
    filterColumn(parseType(type), rows, mask, r, out)
  }
  return out.copy()
}
