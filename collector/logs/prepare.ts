import { requireSources } from '../../auth/scope.ts'
import type { Redactor } from '../../core/privacy.ts'
import { decodeLogsJson } from '../otlp/decode-json.ts'
import { decodeLogsRequest } from '../otlp/decode-proto.ts'
import type { LogRecord } from '../otlp/model.ts'
import { joinRows } from '../row-format.ts'
import { logRows } from '../rows.ts'
import { sourcesNamed } from '../sources.ts'
import type { PrepareContext, PreparedCounts } from '../spans/prepare.ts'
import { Truncator } from '../truncate.ts'
import { repairLines } from '../well-formed.ts'
import { retainedWindow } from '../window.ts'

/** One OTLP logs request as received. */
export interface LogRequest {
  readonly body: Uint8Array
  readonly encoding: 'protobuf' | 'json'
  /** What the sender's ingestion key may write for (undefined: anything). */
  readonly sources?: readonly string[]
  readonly nowMs: number
}

/** What a logs request becomes: its rows ready to queue, and what to count and say. */
export interface PreparedLogs extends PreparedCounts {
  /** `JSONCompactEachRow` lines of the kept records, joined (collector/row-format.ts). */
  readonly rows: string
}

/** What preparing logs needs besides the request: the same settings, entity keys and rules as spans. */
export type LogPrepareContext = PrepareContext

/** Log records with personal data removed; a resource shared by many records is redacted once. */
function redactLogs(logs: readonly LogRecord[], privacy: Redactor): LogRecord[] {
  const resources = new Map<LogRecord['resource'], LogRecord['resource']>()
  return logs.map((l) => {
    const p = privacy.forSource(l.resource.serviceName)
    let resource = resources.get(l.resource)
    if (resource === undefined) {
      resource = { ...l.resource, attributes: p.attributes(l.resource.attributes) }
      resources.set(l.resource, resource)
    }
    return { ...l, resource, attributes: p.attributes(l.attributes), body: p.jsonText(l.body) }
  })
}

/**
 * Decode → scope check → retention window → truncation → redaction → row lines, bounded in size as
 * they are made. Pure and synchronous: it runs on a decoding thread (collector/threads/pool.ts) or,
 * with none, on the main one, so a large or hostile request never holds the thread that answers
 * senders. Throws the product's errors (400, 403, 413) for a bad request.
 */
export function prepareLogs(request: LogRequest, ctx: LogPrepareContext): PreparedLogs {
  const started = performance.now()
  const body = Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength)
  const records = request.encoding === 'protobuf' ? decodeLogsRequest(body) : decodeLogsJson(body)
  if (request.sources) requireSources(request.sources, sourcesNamed(records))
  const { oldest, newest } = retainedWindow(request.nowMs, ctx.retentionDays)
  const receivedNs = BigInt(request.nowMs) * 1_000_000n
  const truncator = new Truncator(ctx.maxAttributeLength)
  const inWindow = records
    .filter((l) => {
      const t = l.timeNs || l.observedTimeNs || receivedNs
      return t >= oldest && t <= newest
    })
    .map((l) => truncator.log(l))
  // Synchronous from here to the end: the counts in the map are this request's.
  ctx.redactionCounts.clear()
  const kept = ctx.privacy ? redactLogs(inWindow, ctx.privacy) : inWindow
  const lines = logRows(kept, ctx.aliases, receivedNs, ctx.maxRequestBytes)
  return {
    received: records.length,
    kept: kept.length,
    outsideRetention: records.length - kept.length,
    surrogates: request.encoding === 'json' ? repairLines(lines) : 0,
    truncated: truncator.truncated,
    redactions: Object.fromEntries(ctx.redactionCounts),
    rows: joinRows(lines),
    workMs: performance.now() - started,
  }
}
