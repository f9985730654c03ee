import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spanBlock } from '../../collector/native/spans.ts'
import { decodeTraceRequest } from '../../collector/otlp/decode-proto.ts'
import { SPAN_COLUMNS } from '../../collector/rows.ts'
import { ResourceIds } from '../../collector/spans/resources.ts'
import { WrittenTraces } from '../../collector/spans/written-traces.ts'
import { loadEntityKeyAliases } from '../../core/entity-keys.ts'
import { createLogger } from '../../core/logger.ts'
import { openStore, type Store } from '../../store/client.ts'
import { migrate } from '../../store/migrate.ts'
import { TABLES } from '../../store/tables.ts'
import { readableSpan } from '../support/readable-span.ts'

/*
 * The filter that settles fresh traces without the store's lookup must never call a stored trace
 * fresh: it is loaded from the trace index (real engine), and takes writes that land during its load.
 */

const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-written-traces-'))
const aliases = loadEntityKeyAliases(join(import.meta.dirname, '../../config'))
const log = createLogger('silent')
const DAY_MS = 86_400_000
const now = Date.now()
const ns = (ms: number) => BigInt(ms) * 1_000_000n
let store: Store

async function storeTrace(traceId: string, startMs: number): Promise<void> {
  const body = ProtobufTraceSerializer.serializeRequest([
    readableSpan({ traceId, spanId: '00000000000000a1', name: 'sync order', startMs, durationMs: 5 }),
  ]) as Uint8Array
  const block = spanBlock(decodeTraceRequest(Buffer.from(body)), aliases, new ResourceIds())
  await store.insertNative(TABLES.spans, SPAN_COLUMNS, [block])
}

const trace = (c: string) => c.repeat(32)

beforeAll(async () => {
  store = await openStore({ dataDir, clickhouse: { database: 'signalbox' } })
  await migrate(store, { spans: 30, logs: 30, events: 400 })
  await storeTrace(trace('a'), now - 60_000) // today
  await storeTrace(`0${'1'.repeat(31)}`, now - 60_000) // today, in the first slice a load reads
  await storeTrace(trace('b'), now - 3 * DAY_MS) // before the filter's horizon
})

afterAll(async () => {
  await store?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('written traces', () => {
  it('settles nothing until loaded, then only traces it can prove were never stored', async () => {
    const written = new WrittenTraces(store, log)
    expect(written.absent(trace('c'), ns(now))).toBe(false) // not loaded: ask the store
    await written.start()
    written.close()
    expect(written.ready).toBe(true)
    expect(written.absent(trace('a'), ns(now))).toBe(false) // stored today
    expect(written.absent(`0${'1'.repeat(31)}`, ns(now))).toBe(false)
    expect(written.absent(trace('c'), ns(now))).toBe(true) // fresh
    // Spans from before the start of yesterday are always for the store, stored or not.
    expect(written.absent(trace('c'), ns(now - 3 * DAY_MS))).toBe(false)
    expect(written.absent(trace('b'), ns(now - 3 * DAY_MS))).toBe(false)
    written.writeStarted({}, [trace('d')])
    expect(written.absent(trace('d'), ns(now))).toBe(false) // being written by this process
  })

  it('does not miss a write that lands after the load has read past its trace', async () => {
    // Two writes land just after the load has read the first slice of trace ids, where both belong:
    // one started before the load (still in progress when it ends), one during it.
    const before = `00${'e'.repeat(30)}`
    const during = `00${'f'.repeat(30)}`
    const writeBefore = {}
    let landed = false
    const racing: Store = {
      ...store,
      async query(q, options) {
        const rows = await store.query(q, options)
        if (!landed && q.query.includes('DISTINCT trace_id')) {
          landed = true
          const writeDuring = {}
          written.writeStarted(writeDuring, [during])
          await storeTrace(during, now - 1000)
          written.writeEnded(writeDuring)
          await storeTrace(before, now - 1000) // its write has not ended yet
        }
        return rows as never
      },
    }
    const written = new WrittenTraces(racing, log)
    written.writeStarted(writeBefore, [before])
    await written.start()
    written.close()
    expect(landed).toBe(true)
    expect(written.absent(during, ns(now))).toBe(false)
    expect(written.absent(before, ns(now))).toBe(false)
    written.writeEnded(writeBefore)
    expect(written.absent(before, ns(now))).toBe(false)
  })

  it('keeps asking the store when the load fails', async () => {
    const failing: Store = {
      ...store,
      query: () => Promise.reject(new Error('store down')),
    }
    const written = new WrittenTraces(failing, log, { retryMs: 60_000 })
    await written.start()
    written.close()
    expect(written.ready).toBe(false)
    expect(written.absent(trace('c'), ns(now))).toBe(false)
  })
})
