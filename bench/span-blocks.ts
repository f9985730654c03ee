import { join } from 'node:path'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { spanBlock } from '../collector/native/spans.ts'
import { decodeTraceRequest } from '../collector/otlp/decode-proto.ts'
import type { SpanRecord } from '../collector/otlp/model.ts'
import { ResourceIds } from '../collector/spans/resources.ts'
import { loadEntityKeyAliases } from '../core/entity-keys.ts'
import type { Store } from '../store/client.ts'
import { orderTrace } from './retail-traces.ts'

/**
 * `writes` writes of `rowsPerWrite` realistic spans (a multiple of 512), each a list of Native blocks
 * of 512 spans, one a request, as the collector writes them: OTLP protobuf from the official
 * serializer, decoded and encoded by the collector's own code. Made before any clock starts.
 */
export function spanWrites(writes: number, rowsPerWrite: number): Buffer[][] {
  const aliases = loadEntityKeyAliases(join(import.meta.dirname, '../config'))
  const start = Date.now() - 3_600_000
  const out: Buffer[][] = []
  for (let w = 0, order = 0; w < writes; w++) {
    const blocks: Buffer[] = []
    for (let b = 0; b < rowsPerWrite / 512; b++, order += 64) {
      blocks.push(spanBlock(orderRequestSpans(order, start), aliases, new ResourceIds()))
    }
    out.push(blocks)
  }
  return out
}

/**
 * One OTLP/protobuf trace request of 64 orders' traces (512 spans) from `firstOrder` on (order n
 * starting at `start` + 10 n ms), as the official serializer writes it.
 */
export function orderRequestBody(firstOrder: number, start: number): Buffer {
  const batch = []
  for (let order = firstOrder; order < firstOrder + 64; order++)
    batch.push(...orderTrace(order, start + order * 10))
  return Buffer.from(ProtobufTraceSerializer.serializeRequest(batch) as Uint8Array)
}

/** The spans of `orderRequestBody`, decoded as the collector does. */
export function orderRequestSpans(firstOrder: number, start: number): SpanRecord[] {
  return decodeTraceRequest(orderRequestBody(firstOrder, start))
}

/** The materialized views that read the spans table of `database`. */
export async function spanViews(store: Store, database: string): Promise<string[]> {
  const views = await store.query<{ name: string }>({
    query: `SELECT name FROM system.tables WHERE database = {db:String} AND engine = 'MaterializedView'
            AND match(create_table_query, concat('FROM ', {db:String}, '[.]spans([^_a-z]|$)'))`,
    query_params: { db: database },
  })
  return views.map((v) => v.name)
}
