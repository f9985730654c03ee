/*
 * The few protobuf encodings the collector writes by hand: OTLP export responses and the gRPC
 * status details of a retryable refusal. Small messages, written field by field.
 */

function varint(n: number): number[] {
  const out: number[] = []
  let v = n
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80)
    v = Math.floor(v / 128)
  }
  out.push(v)
  return out
}

/** A non-negative varint field (wire type 0); omitted when zero, as proto3 encoders do. */
export const varintField = (field: number, n: number): Buffer =>
  n === 0 ? Buffer.alloc(0) : Buffer.from([field << 3, ...varint(n)])

/** A length-delimited field (wire type 2): a string, bytes or an embedded message. */
export const bytesField = (field: number, bytes: Buffer): Buffer =>
  Buffer.concat([Buffer.from([(field << 3) | 2, ...varint(bytes.length)]), bytes])
