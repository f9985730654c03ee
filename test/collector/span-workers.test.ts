import { join } from 'node:path'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { orderTrace } from '../../bench/retail-traces.ts'
import type { PreparedSpans, SpanRequest } from '../../collector/spans/prepare.ts'
import { preparerContexts } from '../../collector/threads/contexts.ts'
import { type IngestPreparer, inlinePreparer, WorkerPreparer } from '../../collector/threads/pool.ts'
import { SignalboxError } from '../../core/errors.ts'
import { createLogger } from '../../core/logger.ts'

/*
 * Trace requests prepared on worker threads give exactly what the main thread would: the same block,
 * keys and counts; and a bad request is refused from a worker with the product's own error.
 */

const configDir = join(import.meta.dirname, '../../config')
const settings = {
  retentionDays: 30,
  logRetentionDays: 30,
  maxAttributeLength: 16_384,
  maxRequestBytes: 32 << 20,
}
const hashKey = 'test-hash-key-0123456789abcdef'
const now = Date.now()

let workers: IngestPreparer
const inline = inlinePreparer(preparerContexts({ ...settings, configDir, hashKey }))
beforeAll(async () => {
  workers = await WorkerPreparer.start(2, { ...settings, configDir, hashKey }, createLogger('silent'))
})
afterAll(async () => {
  await workers?.close()
})

const protobuf = (orders: number, first = 0): SpanRequest => {
  const spans = Array.from({ length: orders }, (_, i) => orderTrace(first + i, now - 60_000 + i)).flat()
  return {
    body: ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array,
    encoding: 'protobuf',
    nowMs: now,
  }
}

const comparable = (p: PreparedSpans) => ({
  ...p,
  block: Buffer.from(p.block).toString('base64'),
  keyTimes: [...p.keyTimes],
  workMs: 0,
})

describe('span decoding threads', () => {
  it('prepare the same block, keys and counts as the main thread, for requests in parallel', async () => {
    const requests = Array.from({ length: 6 }, (_, i) => protobuf(20, i * 20))
    // The worker takes the body's memory: each side gets its own copy of the request.
    const copy = (r: SpanRequest): SpanRequest => ({ ...r, body: r.body.slice() })
    const [onWorkers, onMain] = await Promise.all([
      Promise.all(requests.map((r) => workers.prepareSpans(copy(r)))),
      Promise.all(requests.map((r) => inline.prepareSpans(copy(r)))),
    ])
    expect(onMain[0]?.kept).toBeGreaterThan(100)
    expect(onWorkers.map(comparable)).toEqual(onMain.map(comparable))
  })

  it('count redactions per request', async () => {
    const body = JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'crm-sync' } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: 'ab'.repeat(16),
                  spanId: 'cd'.repeat(8),
                  name: 'sync customer',
                  startTimeUnixNano: String(BigInt(now) * 1_000_000n),
                  endTimeUnixNano: String(BigInt(now) * 1_000_000n + 1000n),
                  attributes: [{ key: 'note', value: { stringValue: 'mail jane.doe@example.com' } }],
                },
              ],
            },
          ],
        },
      ],
    })
    const request = (): SpanRequest => ({ body: Buffer.from(body), encoding: 'json', nowMs: now })
    const first = await workers.prepareSpans(request())
    const second = await workers.prepareSpans(request())
    expect(first.redactions).toEqual((await inline.prepareSpans(request())).redactions)
    expect(Object.values(first.redactions).reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
    expect(second.redactions).toEqual(first.redactions)
  })

  it('refuse a bad request with the product’s error, status and code intact', async () => {
    const truncated = protobuf(2)
    const bad: SpanRequest = { ...truncated, body: truncated.body.slice(0, truncated.body.length - 7) }
    const err = await workers.prepareSpans({ ...bad, body: bad.body.slice() }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(SignalboxError)
    const expected = await inline.prepareSpans({ ...bad, body: bad.body.slice() }).then(
      () => undefined,
      (e: unknown) => e as SignalboxError,
    )
    expect({ ...(err as SignalboxError) }).toEqual({ ...expected })
    expect((err as SignalboxError).status).toBe(400)
    // The thread is still there for the next request.
    expect((await workers.prepareSpans(protobuf(1))).kept).toBeGreaterThan(0)
  })

  it('refuse spans of a source the sender may not write for (403)', async () => {
    const err = (await workers
      .prepareSpans({ ...protobuf(1), sources: ['only-this-one'] })
      .catch((e) => e)) as SignalboxError
    expect(err.status).toBe(403)
    expect(err.message).toMatch(/only-this-one/)
  })
})
