import type { IngestResult } from '../pipeline.ts'
import { bytesField, varintField } from './protobuf-writer.ts'

/*
 * Export*ServiceResponse bodies. An empty message is full success; `partial_success` (field 1) holds
 * the count refused (field 1, int64) and why (field 2). A repair (0 refused, a message) is a
 * warning, which OTLP sends there too. The item field is named per signal in JSON.
 */
export function protobufResponse(result: IngestResult): Buffer {
  if (result.rejected === 0 && !result.message) return Buffer.alloc(0)
  const partialSuccess = Buffer.concat([
    varintField(1, result.rejected),
    bytesField(2, Buffer.from(result.message ?? '', 'utf8')),
  ])
  return bytesField(1, partialSuccess)
}

export function jsonResponse(
  result: IngestResult,
  itemField: 'rejectedSpans' | 'rejectedLogRecords',
): Record<string, unknown> {
  if (result.rejected === 0 && !result.message) return {}
  return { partialSuccess: { [itemField]: String(result.rejected), errorMessage: result.message ?? '' } }
}
