import { join } from 'node:path'
import { CloudEvent, HTTP } from 'cloudevents'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventRequest, PreparedEvents } from '../../collector/events/prepare.ts'
import { preparerContexts } from '../../collector/threads/contexts.ts'
import { type IngestPreparer, inlinePreparer, WorkerPreparer } from '../../collector/threads/pool.ts'
import { SignalboxError } from '../../core/errors.ts'
import { createLogger } from '../../core/logger.ts'

/*
 * CloudEvents requests prepared on the decoding threads give exactly what the main thread would: the
 * same rows, keys, contract verdicts and redaction counts; and a bad request is refused from a thread
 * with the same status, code and message.
 */

const configDir = join(import.meta.dirname, '../../config')
const settings = {
  retentionDays: 30,
  logRetentionDays: 30,
  maxAttributeLength: 16_384,
  maxRequestBytes: 32 << 20,
  configDir,
}
const hashKey = 'test-hash-key-0123456789abcdef'
const receivedAtMs = Date.now()

let workers: IngestPreparer
const inline = inlinePreparer(preparerContexts({ ...settings, hashKey }))
beforeAll(async () => {
  workers = await WorkerPreparer.start(2, { ...settings, hashKey }, createLogger('silent'))
})
afterAll(async () => {
  await workers?.close()
})

const order = (id: string, data: unknown, more: Record<string, unknown> = {}) =>
  new CloudEvent({
    specversion: '1.0',
    id,
    source: 'urn:test:storefront',
    type: 'retail.order.created',
    subject: id,
    time: '2026-11-30T10:15:00.123Z',
    datacontenttype: 'application/json',
    data,
    ...more,
  })

/** A request as the collector's route builds it: headers lower-cased, the body as bytes. */
const request = (
  message: { headers: Record<string, unknown>; body: unknown },
  sources?: string[],
): EventRequest => ({
  headers: Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [k.toLowerCase(), String(v)])),
  body: Buffer.from(String(message.body)),
  receivedAtMs,
  sources,
})

const batch = (events: CloudEvent<unknown>[]) => ({
  headers: { 'content-type': 'application/cloudevents-batch+json' },
  body: JSON.stringify(events.map((e) => e.toJSON())),
})

/** The same request on both sides: the worker takes the body's memory, so each gets its own copy. */
async function bothWays(r: EventRequest): Promise<[PreparedEvents, PreparedEvents]> {
  const copy = (): EventRequest => ({ ...r, body: new Uint8Array(r.body) })
  return Promise.all([workers.prepareEvents(copy()), inline.prepareEvents(copy())])
}

const comparable = (p: PreparedEvents) => ({ ...p, workMs: 0 })

async function refusal(preparer: IngestPreparer, r: EventRequest): Promise<SignalboxError> {
  const err = await preparer.prepareEvents({ ...r, body: new Uint8Array(r.body) }).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(SignalboxError)
  const e = err as SignalboxError
  return { ...e, name: e.name, message: e.message } as SignalboxError
}

describe('CloudEvents on the decoding threads', () => {
  it('prepare the same rows, keys, verdicts and redaction counts as the main thread, in every mode', async () => {
    const kept = { channel: 'web', total: 10, lines: [{ sku: 'SKU-1', quantity: 1 }] }
    const requests = [
      request(
        HTTP.structured(order('SO-W1', { ...kept, note: 'call jane.doe@example.com or +44 20 7946 0958' })),
      ),
      request(
        HTTP.binary(order('SO-W2', kept, { traceparent: `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01` })),
      ),
      request(
        batch([
          order('SO-W3', { ...kept, customer: { email: 'a@b.cd', loyalty: 'x'.repeat(5000) } }),
          // Breaks the shipped contract (no lines): a warned verdict with its redacted example.
          order('SO-W4', { channel: 'web', total: 10, note: 'a@b.cd '.repeat(2000) }),
          order('SO-W5', 'plain text data with a@b.cd', { datacontenttype: 'text/plain', orderid: 'SO-W5' }),
        ]),
      ),
    ]
    for (const r of requests) {
      const [onWorker, onMain] = await bothWays(r)
      expect(comparable(onWorker)).toEqual(comparable(onMain))
      expect(onWorker.rows.split('\n').length).toBe(onWorker.events.length + 1)
    }
    const [redacted] = await bothWays(requests[0] as EventRequest)
    expect(redacted.rows).not.toContain('jane.doe@example.com')
    expect(Object.values(redacted.redactions).reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
    expect(redacted.events[0]?.timeNs).toBe(BigInt(Date.parse('2026-11-30T10:15:00.123Z')) * 1_000_000n)

    const [warned] = await bothWays(requests[2] as EventRequest)
    // No lines; data that is not JSON.
    expect(warned.events.map((e) => e.violation?.path)).toEqual([undefined, '$.lines', '$'])
    expect(warned.events[1]?.example).toMatch(/^\{"channel":"web".*…$/)
    expect(warned.events[1]?.example).not.toContain('a@b.cd')
  })

  it('count each request’s redactions alone', async () => {
    const r = request(HTTP.structured(order('SO-R1', { note: 'mail jane.doe@example.com' })))
    const first = await workers.prepareEvents({ ...r, body: new Uint8Array(r.body) })
    const second = await workers.prepareEvents({ ...r, body: new Uint8Array(r.body) })
    expect(second.redactions).toEqual(first.redactions)
    expect(first.redactions).toEqual({ email: 1 })
  })

  it('refuse a bad request with the same status, code and message as the main thread', async () => {
    const structured = (body: string) =>
      request({ headers: { 'content-type': 'application/cloudevents+json' }, body })
    const bad: Array<[EventRequest, number, string]> = [
      [structured('{"specversion":"1.0",'), 400, 'invalid_json'],
      [structured(JSON.stringify({ specversion: '1.0', source: 's', type: 't' })), 400, 'invalid_cloudevent'],
      [structured('[]'), 400, 'invalid_cloudevent'],
      [request({ ...batch([]), body: '[]' }), 400, 'invalid_cloudevent'],
      [
        request({
          ...batch([]),
          body: JSON.stringify([{ ...order('SO-B1', {}).toJSON(), time: 'yesterday' }]),
        }),
        400,
        'invalid_cloudevent',
      ],
      [
        structured(
          `{"specversion":"1.0","id":"SO-B2","source":"s","type":"t","data":${'['.repeat(500)}${']'.repeat(500)}}`,
        ),
        400,
        'too_deep',
      ],
      [
        request({ headers: { 'content-type': 'application/cloudevents+xml' }, body: '<e/>' }),
        415,
        'unsupported_media_type',
      ],
      [
        request({
          headers: {
            'content-type': 'application/json',
            'ce-specversion': '1.0',
            'ce-id': 'X',
            'ce-source': 's',
            'ce-type': 't',
          },
          body: '{not json',
        }),
        400,
        'invalid_cloudevent',
      ],
      [request(HTTP.structured(order('SO-B3', {})), ['only-this-source']), 403, 'out_of_scope'],
    ]
    for (const [r, status, code] of bad) {
      const fromWorker = await refusal(workers, r)
      expect(fromWorker).toEqual(await refusal(inline, r))
      expect({ status: fromWorker.status, code: fromWorker.code }).toEqual({ status, code })
    }
    // The threads are still there for the next request.
    expect((await workers.prepareEvents(request(HTTP.structured(order('SO-B4', {}))))).events).toHaveLength(1)
  })

  it('check events against a contract registered after start, as the main thread does', async () => {
    const type = 'shop.loyalty.points_earned'
    const schema = {
      type: 'object',
      properties: { points: { type: 'integer', minimum: 0 } },
      required: ['points'],
    }
    const added = {
      contract: { type, version: '1', schema, origin: 'api' as const },
      policy: 'reject' as const,
    }
    workers.addContract(added)
    inline.addContract(added)
    const r = request(HTTP.structured(order('P-1', { points: -3 }, { type })))
    const [onWorker, onMain] = await bothWays(r)
    expect(comparable(onWorker)).toEqual(comparable(onMain))
    expect(onWorker.events[0]?.violation).toEqual({
      type,
      version: '1',
      policy: 'reject',
      path: '$.points',
      message: 'must be >= 0',
    })
  })
})
