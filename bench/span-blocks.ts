import { join } from 'node:path'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { spanBlock } from '../collector/native/spans.ts'
import { decodeTraceRequest } from '../collector/otlp/decode-proto.ts'
import type { Resource, SpanRecord } from '../collector/otlp/model.ts'
import { loadEntityKeyAliases } from '../core/entity-keys.ts'
import { orderTrace } from './retail-traces.ts'

/** How the spans are shaped before they are encoded. */
export interface BlockOptions {
  /** Every span's resource attributes left out (service name kept): what a span row costs without them. */
  readonly withoutResourceAttributes?: boolean
}

/**
 * `writes` writes of `rowsPerWrite` realistic spans (a multiple of 512), each a list of Native blocks
 * of 512 spans, one a request, as the collector writes them: OTLP protobuf from the official
 * serializer, decoded and encoded by the collector's own code. Made before any clock starts.
 */
export function spanWrites(writes: number, rowsPerWrite: number, options: BlockOptions = {}): Buffer[][] {
  const aliases = loadEntityKeyAliases(join(import.meta.dirname, '../config'))
  const start = Date.now() - 3_600_000
  let order = 0
  const out: Buffer[][] = []
  for (let w = 0; w < writes; w++) {
    const blocks: Buffer[] = []
    for (let b = 0; b < rowsPerWrite / 512; b++) {
      const batch = []
      for (let k = 0; k < 64; k++, order++) batch.push(...orderTrace(order, start + order * 10))
      const request = Buffer.from(ProtobufTraceSerializer.serializeRequest(batch) as Uint8Array)
      const records = decodeTraceRequest(request)
      blocks.push(
        spanBlock(options.withoutResourceAttributes ? withoutResourceAttributes(records) : records, aliases),
      )
    }
    out.push(blocks)
  }
  return out
}

function withoutResourceAttributes(records: readonly SpanRecord[]): SpanRecord[] {
  // One stripped object per resource, as the encoder encodes a resource's attributes once per object.
  const stripped = new Map<Resource, Resource>()
  return records.map((r) => {
    let resource = stripped.get(r.resource)
    if (!resource) {
      resource = { ...r.resource, attributes: {} }
      stripped.set(r.resource, resource)
    }
    return { ...r, resource }
  })
}
