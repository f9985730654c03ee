/*
 * A protobuf encoder for hand-made OTLP requests: what the official serializers will not write
 * (lengths that do not nest, fields out of order, values past the limits), field by field.
 */

/** A varint as protobuf writes it: two's complement, 7 bits a byte, 10 bytes when negative. */
export function varint(n: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(n))
  const out: number[] = []
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80)
    v >>= 7n
  }
  out.push(Number(v))
  return Buffer.from(out)
}

const tag = (field: number, wire: number) => varint((field << 3) | wire)

/** A length-delimited field: a string, bytes or an embedded message. */
export const ld = (field: number, bytes: Buffer | string): Buffer => {
  const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes
  return Buffer.concat([tag(field, 2), varint(b.length), b])
}

/** A varint field. */
export const vi = (field: number, n: number | bigint): Buffer => Buffer.concat([tag(field, 0), varint(n)])

/** A fixed64 field. */
export const f64 = (field: number, n: bigint): Buffer => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(n)
  return Buffer.concat([tag(field, 1), b])
}

/** AnyValue{stringValue} and KeyValue. */
export const str = (s: string): Buffer => ld(1, s)
export const kv = (k: string, anyValue: Buffer): Buffer => Buffer.concat([ld(1, k), ld(2, anyValue)])

const NOW = BigInt(Date.now()) * 1_000_000n

/** A span's fields (without its enclosing tag): ids in hex, times around now. */
export function spanFields(o: { traceId: string; spanId: string; name?: string; extra?: Buffer[] }): Buffer {
  return Buffer.concat([
    ld(1, Buffer.from(o.traceId, 'hex')),
    ld(2, Buffer.from(o.spanId, 'hex')),
    ld(5, o.name ?? 'probe'),
    vi(6, 1),
    f64(7, NOW),
    f64(8, NOW + 1_000_000n),
    ...(o.extra ?? []),
  ])
}

/** ExportTraceServiceRequest with one resource and one scope. */
export function traceRequest(
  spans: Buffer[],
  resource: Buffer[] = [ld(1, kv('service.name', str('probe')))],
): Buffer {
  const scopeSpans = Buffer.concat([ld(1, ld(1, 'probe-scope')), ...spans.map((s) => ld(2, s))])
  return ld(1, Buffer.concat([ld(1, Buffer.concat(resource)), ld(2, scopeSpans)]))
}

/** ExportLogsServiceRequest with one resource and one scope. */
export function logsRequest(
  records: Buffer[],
  resource: Buffer[] = [ld(1, kv('service.name', str('probe')))],
): Buffer {
  const scopeLogs = Buffer.concat([ld(1, ld(1, 'probe-scope')), ...records.map((r) => ld(2, r))])
  return ld(1, Buffer.concat([ld(1, Buffer.concat(resource)), ld(2, scopeLogs)]))
}
