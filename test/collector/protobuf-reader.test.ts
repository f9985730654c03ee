import { describe, expect, it } from 'vitest'
import { ProtobufReader } from '../../collector/otlp/protobuf-reader.ts'
import { varint } from '../support/protobuf.ts'

const SAFE = 2n ** 53n - 1n

describe('the protobuf reader', () => {
  it('reads int64 values exactly: numbers up to 2^53, decimal strings beyond, both signs', () => {
    const values = [0n, 1n, 127n, 128n, 200n, 2n ** 49n - 1n, 2n ** 49n, SAFE, SAFE + 1n, 2n ** 63n - 1n]
    for (const v of [...values, ...values.map((x) => -x), -(2n ** 63n)]) {
      const bytes = Buffer.concat([Buffer.from([0xff]), varint(v), Buffer.from([0x08])])
      const r = new ProtobufReader(bytes, 1)
      const expected = v >= -SAFE && v <= SAFE ? Number(v) : v.toString()
      expect(r.int64Value()).toBe(expected)
      // It stops at the varint's last byte, whichever way it was read.
      expect(r.pos).toBe(bytes.length - 1)
    }
  })

  it('reads 64-bit fixed values past 2^63 and refuses truncated ones', () => {
    const bytes = Buffer.alloc(9)
    bytes.writeBigUInt64LE(2n ** 64n - 2n, 1)
    const r = new ProtobufReader(bytes, 1)
    expect(r.fixed64()).toBe(2n ** 64n - 2n)
    expect(() => new ProtobufReader(bytes, 2).fixed64()).toThrow(/truncated fixed64/)
  })

  it('refuses a varint cut short, however it is read, and skips one of any width', () => {
    const VARINT_FIELD = (1 << 3) | 0 // the tag of field 1, a varint
    for (const v of [300n, 2n ** 50n, -5n]) {
      const cutShort = varint(v).subarray(0, -1)
      expect(() => new ProtobufReader(cutShort).int64Value()).toThrow(/truncated varint/)
      expect(() => new ProtobufReader(cutShort).skip(VARINT_FIELD)).toThrow(/truncated varint/)
      const whole = new ProtobufReader(varint(v))
      whole.skip(VARINT_FIELD)
      expect(whole.done).toBe(true)
    }
  })
})
