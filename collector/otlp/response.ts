import type { IngestResult } from '../pipeline.ts'

/*
 * Export*ServiceResponse bodies. An empty message is full success; `partial_success` (field 1) holds
 * the count refused (field 1, int64) and why (field 2). The item field is named per signal in JSON.
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

/*
 * A repair (rejected 0, a message) is a warning: OTLP sends it in partial_success too.
 */
export function protobufResponse(result: IngestResult): Buffer {
  if (result.rejected === 0 && !result.message) return Buffer.alloc(0)
  const message = Buffer.from(result.message ?? '', 'utf8')
  const inner = Buffer.concat([
    result.rejected > 0 ? Buffer.from([0x08, ...varint(result.rejected)]) : Buffer.alloc(0),
    Buffer.from([0x12, ...varint(message.length)]),
    message,
  ])
  return Buffer.concat([Buffer.from([0x0a, ...varint(inner.length)]), inner])
}

export function jsonResponse(
  result: IngestResult,
  itemField: 'rejectedSpans' | 'rejectedLogRecords',
): Record<string, unknown> {
  if (result.rejected === 0 && !result.message) return {}
  return { partialSuccess: { [itemField]: String(result.rejected), errorMessage: result.message ?? '' } }
}
