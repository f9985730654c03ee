/**
 * A Bloom filter of trace ids: "not here" is certain, "maybe" is for the store to settle. Fixed in
 * size, so memory stays bounded whatever is added; past its capacity only the share of "maybe" grows.
 */
export class TraceFilter {
  private readonly words: Uint32Array
  private readonly mask: number
  private added = 0

  /** 2^`log2Bits` bits; the default, 2^27 (16 MiB), holds about 13 million ids at 1% false "maybe". */
  constructor(log2Bits = 27) {
    if (!Number.isInteger(log2Bits) || log2Bits < 10 || log2Bits > 31)
      throw new RangeError('a trace filter has 2^10 to 2^31 bits')
    this.words = new Uint32Array(2 ** (log2Bits - 5))
    this.mask = 2 ** log2Bits - 1
  }

  /** Ids added, each once: an id whose bits were all set already (a repeat, or a false "maybe") is not counted. */
  get size(): number {
    return this.added
  }

  /** How many ids it holds at about 1% false "maybe" (bits × ln 2 / probes). */
  get capacity(): number {
    return Math.floor(((this.mask + 1) * Math.LN2) / PROBES)
  }

  add(traceId: string): void {
    hash(traceId)
    let changed = false
    for (let i = 0, h = h1; i < PROBES; i++, h = (h + h2) | 0) {
      const bit = h & this.mask
      const word = this.words[bit >>> 5] as number
      const one = 1 << (bit & 31)
      if ((word & one) === 0) {
        this.words[bit >>> 5] = word | one
        changed = true
      }
    }
    if (changed) this.added++
  }

  /** False only if `traceId` was never added. */
  mayHold(traceId: string): boolean {
    hash(traceId)
    for (let i = 0, h = h1; i < PROBES; i++, h = (h + h2) | 0) {
      const bit = h & this.mask
      if (((this.words[bit >>> 5] as number) & (1 << (bit & 31))) === 0) return false
    }
    return true
  }
}

/** Bits set per id: the count that gives 1% false "maybe" at capacity. */
const PROBES = 7

// The two hashes of the last id hashed (one pass computes both; the filter is used from one thread).
let h1 = 0
let h2 = 0

/**
 * Two independent 32-bit hashes of the id's characters (FNV-1a and a multiply-xorshift, each
 * finalised by MurmurHash3's fmix32), combined as h1 + i·h2. Trace ids are not trusted to be random:
 * some systems put a timestamp in them.
 */
function hash(id: string): void {
  let a = 0x811c9dc5
  let b = 0x9747b28c
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x5bd1e995)
    b ^= b >>> 15
  }
  h1 = fmix32(a)
  h2 = fmix32(b) | 1 // odd, so the probes never repeat a bit within the filter's power-of-two size
}

function fmix32(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}
