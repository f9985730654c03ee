import { setTimeout as delay } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type BatcherOptions, TableBatcher } from '../../collector/batcher.ts'
import { CollectorMetrics } from '../../collector/metrics.ts'
import { spanBlock } from '../../collector/native/spans.ts'
import type { SpanRecord } from '../../collector/otlp/model.ts'
import { joinRows, jsonRows, nativeBlocks } from '../../collector/row-format.ts'
import { LOG_COLUMNS, logRows, SPAN_COLUMNS } from '../../collector/rows.ts'
import { ResourceIds } from '../../collector/spans/resources.ts'
import { StoredKeyLookup } from '../../collector/stored-keys.ts'
import { loadEntityKeyAliases } from '../../core/entity-keys.ts'
import { RetryableError } from '../../core/errors.ts'
import { createLogger } from '../../core/logger.ts'
import type { Store } from '../../store/client.ts'
import { sql, table } from '../../store/sql.ts'
import { TABLES } from '../../store/tables.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

/*
 * The backstop behind validation: rows the engine refuses are written through the batcher directly
 * (the collector's decoders would have caught these), so the split is exercised on the real engine.
 */

let sb: TestSignalbox
beforeAll(async () => {
  sb = await startSignalbox()
})
afterAll(async () => {
  await sb?.close()
})

const aliases = loadEntityKeyAliases('config')
const nowNs = BigInt(Date.now()) * 1_000_000n
const resource = { attributes: { 'service.name': 'batcher-test' }, serviceName: 'batcher-test' }
const lines = (body: string, n = 3) =>
  logRows(
    Array.from({ length: n }, () => ({
      resource,
      scope: { name: '', version: '' },
      timeNs: nowNs,
      observedTimeNs: nowNs,
      severityNumber: 9,
      severityText: 'INFO',
      body,
      attributes: {},
      flags: 0,
      traceId: '',
      spanId: '',
      eventName: '',
    })),
    aliases,
    nowNs,
  )

// Async, as the collector's callers see it: a refusal up front is a rejection like any other.
const send = async (b: TableBatcher<string>, rows: readonly string[]) =>
  b.enqueue(joinRows(rows), rows.length)

function batcher<D = never>(
  metrics: CollectorMetrics,
  options: Partial<BatcherOptions<string, D>> = {},
  store: Store = sb.store,
) {
  return new TableBatcher<string, D>(
    store,
    {
      table: TABLES.logs,
      columns: LOG_COLUMNS,
      format: jsonRows,
      maxRows: 10_000,
      maxWaitMs: 50,
      maxQueuedRows: 10_000,
      maxQueuedBytes: 1 << 20,
      maxAckWaitMs: 60_000,
      ...options,
    },
    metrics,
    createLogger('silent'),
  )
}

/**
 * The real store, each write held `ms` first, as a loaded engine takes its fixed cost per insert
 * (views, parts) whatever the rows. `writeStarted` resolves when the next write reaches the store.
 */
function slowStore(ms: number) {
  let started: () => void = () => {}
  /** The requests each write carried, in order. */
  const writes: number[] = []
  const slow: Store = {
    ...sb.store,
    insertRows: async (table, columns, chunks) => {
      writes.push(chunks.length)
      started()
      await delay(ms)
      return sb.store.insertRows(table, columns, chunks)
    },
  }
  return {
    store: slow,
    writes,
    writeStarted: () => new Promise<void>((resolve) => (started = resolve)),
  }
}

/** `n` one-row requests, one after another: each its own write. */
async function trickle(b: TableBatcher<string>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await send(b, lines(`trickle ${i}`, 1))
}

/** Holds a write of one row at the slow store, sends `n` one-row requests while it runs. */
async function whileWriting(slow: ReturnType<typeof slowStore>, b: TableBatcher<string>, n: number) {
  const started = slow.writeStarted()
  const first = send(b, lines('first', 1))
  await started
  const during = await Promise.allSettled(
    Array.from({ length: n }, (_, i) => send(b, lines(`during ${i}`, 1))),
  )
  return { first: (await Promise.allSettled([first]))[0] as PromiseSettledResult<unknown>, during }
}

const statusOf = (o: PromiseSettledResult<unknown>) =>
  o.status === 'fulfilled' ? 200 : ((o.reason as RetryableError).status ?? 500)

describe('a batch the store refuses', () => {
  it('for one request’s data: that request alone is refused (400), the others written', async () => {
    const metrics = new CollectorMetrics({ processMetrics: false })
    const b = batcher(metrics)
    // A lone-surrogate escape: the engine refuses the whole insert it is in.
    const bad = lines('poison').map((l) => l.replace('"poison"', '"x\\ud800"'))
    const outcomes = await Promise.allSettled([
      send(b, lines('good 1')),
      send(b, lines('good 2')),
      send(b, bad),
      send(b, lines('good 3')),
      send(b, lines('good 4')),
    ])
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ])
    const refused = (outcomes[2] as PromiseRejectedResult).reason as { status: number; code: string }
    expect({ status: refused.status, code: refused.code }).toEqual({ status: 400, code: 'refused_by_store' })
    expect(await sb.count(TABLES.logs)).toBe(12)
    expect((await metrics.flushFailures.get()).values).toEqual([])
    expect((await metrics.dataRefusals.get()).values[0]?.value).toBe(1)
    // Nothing closed: the next request is written at once.
    await send(b, lines('after', 1))
    expect(await sb.count(TABLES.logs)).toBe(13)
    await b.close()
  })

  it('because the store fails: every request is told to retry (503), none is blamed', async () => {
    const metrics = new CollectorMetrics({ processMetrics: false })
    const b = batcher(metrics)
    await sb.store.command(`DETACH TABLE ${TABLES.logs}`)
    try {
      const outcomes = await Promise.allSettled([send(b, lines('a')), send(b, lines('b'))])
      expect(
        outcomes.map((o) => (o.status === 'rejected' ? (o.reason as { status: number }).status : 200)),
      ).toEqual([503, 503])
      expect((await metrics.dataRefusals.get()).values).toEqual([])
    } finally {
      await sb.store.command(`ATTACH TABLE ${TABLES.logs}`)
    }
    await b.close()
  })
})

describe('what the rows refer to (writeFirst)', () => {
  it('is written once a write, just before its rows; its failure fails the write (503) and writes no row', async () => {
    const metrics = new CollectorMetrics({ processMetrics: false })
    const base = await sb.count(TABLES.logs)
    const calls: Array<{ needs: readonly string[]; rowsBefore: number }> = []
    let failing = false
    const b = batcher<string>(metrics, {
      writeFirst: async (needs) => {
        calls.push({ needs, rowsBefore: await sb.count(TABLES.logs) })
        if (failing) throw new Error('store unavailable (test)')
      },
    })
    await Promise.all(
      ['r1', 'r2', 'r1'].map((need, i) => b.enqueue(joinRows(lines(`ref ${i}`)), 3, undefined, need)),
    )
    expect(calls).toEqual([{ needs: ['r1', 'r2', 'r1'], rowsBefore: base }])
    expect(await sb.count(TABLES.logs)).toBe(base + 9)
    failing = true
    const outcomes = await Promise.allSettled([
      b.enqueue(joinRows(lines('refused 1')), 3, undefined, 'r3'),
      b.enqueue(joinRows(lines('refused 2')), 3, undefined, 'r4'),
    ])
    expect(outcomes.map(statusOf)).toEqual([503, 503])
    expect(calls).toHaveLength(2)
    expect(await sb.count(TABLES.logs)).toBe(base + 9)
    await b.close()
  })

  it('refused for one request’s data: the batch is split, each part writes only its own, and only that request is refused (400)', async () => {
    const metrics = new CollectorMetrics({ processMetrics: false })
    const base = await sb.count(TABLES.logs)
    const calls: Array<readonly string[]> = []
    const b = batcher<string>(metrics, {
      writeFirst: async (needs) => {
        calls.push(needs)
        if (needs.includes('bad'))
          throw Object.assign(new Error('bad resource (test)'), {
            type: 'CANNOT_PARSE_INPUT_ASSERTION_FAILED',
          })
      },
    })
    const outcomes = await Promise.allSettled(
      ['a', 'b', 'bad', 'c'].map((need) => b.enqueue(joinRows(lines(`split ${need}`)), 3, undefined, need)),
    )
    expect(outcomes.map(statusOf)).toEqual([200, 200, 400, 200])
    expect(await sb.count(TABLES.logs)).toBe(base + 9)
    // The whole write, then its halves, each asked for its own requests' needs only.
    expect(calls).toEqual([['a', 'b', 'bad', 'c'], ['a', 'b'], ['bad', 'c'], ['bad'], ['c']])
    expect((await metrics.dataRefusals.get()).values[0]?.value).toBe(1)
    await b.close()
  })

  it('is not asked for a request whose rows are all stored already', async () => {
    const metrics = new CollectorMetrics({ processMetrics: false })
    const calls: Array<readonly string[]> = []
    const lookup = new StoredKeyLookup(
      async (keys) => new Set(keys.filter((k) => k.id.startsWith('old')).map((k) => k.id)),
    )
    const b = batcher<string>(metrics, {
      storedKeys: lookup,
      writeFirst: async (needs) => {
        calls.push(needs)
      },
    })
    const keys = (prefix: string) => [0, 1, 2].map((i) => ({ id: `${prefix}-${i}`, timeNs: nowNs }))
    const outcomes = await Promise.all([
      b.enqueue(joinRows(lines('retry')), 3, keys('old'), 'retried'),
      b.enqueue(joinRows(lines('fresh')), 3, keys('new'), 'fresh'),
    ])
    expect(outcomes).toEqual([
      { written: 0, duplicates: 3, duplicateRows: [0, 1, 2] },
      { written: 3, duplicates: 0 },
    ])
    expect(calls).toEqual([['fresh']])
    await b.close()
  })

  it('counts what it is given toward the queue’s byte bound, so references cannot grow memory past it', async () => {
    const metrics = new CollectorMetrics({ processMetrics: false })
    const b = batcher<string>(metrics, {
      maxQueuedBytes: 64 * 1024,
      needsSize: (need) => need.length,
      writeFirst: async () => {},
    })
    const huge = 'x'.repeat(100 * 1024)
    await expect(
      (async () => b.enqueue(joinRows(lines('small rows, huge reference')), 3, undefined, huge))(),
    ).rejects.toMatchObject({
      // Larger than the whole queue: no retry could be queued, so the refusal is final.
      status: 413,
      code: 'payload_too_large',
    })
    await expect(
      b.enqueue(joinRows(lines('small rows, small reference')), 3, undefined, 'r'),
    ).resolves.toEqual({
      written: 3,
      duplicates: 0,
    })
    await b.close()
  })
})

describe('exactly once across batches', () => {
  it('drops a retry queued while the first copy is still being written, in a batch of its own', async () => {
    const metrics = new CollectorMetrics({ processMetrics: false })
    const traceId = 'c3'.repeat(16)
    const spans: SpanRecord[] = [1, 2, 3].map((n) => ({
      resource,
      scope: { name: '', version: '' },
      traceId,
      spanId: String(n).padStart(16, '0'),
      parentSpanId: '',
      traceState: '',
      flags: 0,
      name: `retried ${n}`,
      kind: 1,
      startNs: nowNs,
      endNs: nowNs + 1000n,
      attributes: {},
      events: [],
      links: [],
      statusCode: 0,
      statusMessage: '',
    }))
    const keys = spans.map((s) => ({ id: s.traceId + s.spanId + s.resource.serviceName, timeNs: s.startNs }))
    let reads = 0
    const b = new TableBatcher(
      sb.store,
      {
        table: TABLES.spans,
        columns: SPAN_COLUMNS,
        format: nativeBlocks,
        // One request a batch: each copy is written by a write of its own, one after the other.
        maxRows: 3,
        maxWaitMs: 0,
        maxQueuedRows: 10_000,
        maxQueuedBytes: 1 << 20,
        maxAckWaitMs: 60_000,
        storedKeys: new StoredKeyLookup(async (ks) => {
          reads++
          const rows = await sb.store.query<{ k: string }>(
            sql`SELECT concat(trace_id, key) AS k FROM ${table(TABLES.traceIndex)} ARRAY JOIN span_keys AS key
                WHERE trace_id IN ${[...new Set(ks.map((k) => k.id.slice(0, 32)))]}`,
          )
          return new Set(rows.map((r) => r.k))
        }),
      },
      metrics,
      createLogger('silent'),
    )
    const block = spanBlock(spans, aliases, new ResourceIds())
    // All three copies look the store up before the first is written: none is stored yet.
    const outcomes = await Promise.all([0, 1, 2].map(() => b.enqueue(block, spans.length, keys)))
    expect(reads).toBeGreaterThan(0)
    expect(outcomes).toEqual([
      { written: 3, duplicates: 0 },
      { written: 0, duplicates: 3, duplicateRows: [0, 1, 2] },
      { written: 0, duplicates: 3, duplicateRows: [0, 1, 2] },
    ])
    const [stored] = await sb.rows<{ n: string }>(
      sql`SELECT count() AS n FROM ${table(TABLES.spans)} WHERE trace_id = ${traceId}`,
    )
    expect(Number(stored?.n)).toBe(3)
    await b.close()
  })
})

describe('the watcher of written keys (onWrite)', () => {
  it('is told a write’s keys as it starts and as it ends, also when the store fails it', async () => {
    const metrics = new CollectorMetrics({ processMetrics: false })
    const told: string[][] = []
    const lookup = new StoredKeyLookup(async () => new Set<string>(), {
      started: (keys) => told.push(['started', ...keys]),
      ended: (keys) => told.push(['ended', ...keys]),
    })
    const keys = ['k1', 'k2', 'k3'].map((id) => ({ id, timeNs: nowNs }))
    const written = batcher(metrics, { storedKeys: lookup })
    await written.enqueue(joinRows(lines('told')), 3, keys)
    expect(told).toEqual([
      ['started', 'k1', 'k2', 'k3'],
      ['ended', 'k1', 'k2', 'k3'],
    ])
    // A write that fails may still have landed in part: its keys are told after it all the same.
    told.length = 0
    const failing: Store = { ...sb.store, insertRows: () => Promise.reject(new Error('connection reset')) }
    const refused = batcher(metrics, { storedKeys: lookup }, failing)
    await expect(refused.enqueue(joinRows(lines('lost')), 3, keys)).rejects.toMatchObject({
      code: 'store_unavailable',
    })
    expect(told).toEqual([
      ['started', 'k1', 'k2', 'k3'],
      ['ended', 'k1', 'k2', 'k3'],
    ])
    await Promise.all([written.close(), refused.close()])
  })
})

describe('the wait a request is refused for', () => {
  it('never refuses requests that join the next write, however slow each small write has been', async () => {
    const metrics = new CollectorMetrics({ processMetrics: false })
    const slow = slowStore(100)
    const b = batcher(metrics, { maxWaitMs: 0, maxAckWaitMs: 1_000 }, slow.store)
    // A trickle, one row a write: at most 10 rows a second, all of it the writes' fixed cost.
    await trickle(b, 20)
    // Thirty more while a write runs: all fit the next write, which goes out after it.
    const { first, during } = await whileWriting(slow, b, 30)
    expect([first, ...during].map(statusOf)).toEqual(Array(31).fill(200))
    await b.close()
  })

  it('judges a burst after a trickle by what full writes do, not by the trickle’s tiny writes', async () => {
    const slow = slowStore(100)
    const b = batcher(
      new CollectorMetrics({ processMetrics: false }),
      { maxRows: 10, maxWaitMs: 0, maxAckWaitMs: 1_000 },
      slow.store,
    )
    // One row a write, each 100 ms: 10 rows a second, though a full write of 10 takes no longer.
    await trickle(b, 20)
    // Three writes' worth: about 0.3 s of writing, not the 3 s ten rows a second would predict.
    const { during } = await whileWriting(slow, b, 30)
    expect(during.map(statusOf)).toEqual(Array(30).fill(200))
    await b.close()
  })

  it('refuses (429) what would wait past the deadline behind more than one write', async () => {
    const metrics = new CollectorMetrics({ processMetrics: false })
    const slow = slowStore(50)
    const b = batcher(metrics, { maxRows: 5, maxWaitMs: 0, maxAckWaitMs: 500 }, slow.store)
    // Full writes back to back: 5 rows per 50 ms or slower, at most 100 rows a second.
    await Promise.all(Array.from({ length: 150 }, (_, i) => send(b, lines(`warm ${i}`, 1))))
    const { during: outcomes } = await whileWriting(slow, b, 100)
    const statuses = outcomes.map(statusOf)
    // The next write's five are taken; past 50 rows queued, half a second at 100 rows a second, refused.
    expect(statuses.slice(0, 5)).toEqual(Array(5).fill(200))
    expect(statuses.slice(50)).toEqual(Array(50).fill(429))
    const refusal = (outcomes[99] as PromiseRejectedResult).reason as RetryableError
    expect(refusal).toBeInstanceOf(RetryableError)
    expect(refusal.code).toBe('queue_full')
    await b.close()
  })
})

describe('gathering after a small write', () => {
  it('waits for the senders a write acknowledged, so they are written together instead of taking turns', async () => {
    const slow = slowStore(50)
    const b = batcher(new CollectorMetrics({ processMetrics: false }), { maxWaitMs: 0 }, slow.store)
    // Four exporters, each sending its next batch once the last is acknowledged, back 0, 5, 10 and
    // 15 ms after it (decoding one request after another, in the collector): without the wait, the
    // first back is written alone and the rest wait behind it, two groups taking turns from then on.
    await Promise.all(
      [0, 5, 10, 15].map(async (backAfterMs, sender) => {
        for (let round = 0; round < 5; round++) {
          await send(b, lines(`sender ${sender} round ${round}`, 1))
          await delay(backAfterMs)
        }
      }),
    )
    expect(slow.writes).toEqual([4, 4, 4, 4, 4])
    await b.close()
  })

  it('writes what waits once the wait is over, and when the collector stops', async () => {
    for (const stop of [false, true]) {
      const slow = slowStore(20)
      const b = batcher(new CollectorMetrics({ processMetrics: false }), { maxWaitMs: 0 }, slow.store)
      await Promise.all([send(b, lines('a', 1)), send(b, lines('b', 1))])
      // One of the two senders comes back; the other never does.
      const again = send(b, lines('a again', 1))
      if (stop) await b.close()
      await again
      expect(slow.writes).toEqual([2, 1])
      await b.close()
    }
  })
})
