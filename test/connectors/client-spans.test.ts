import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SystemClient } from '../../connectors/sdk/http.ts'
import { IntegrationSpanProcessor, withStep } from '../../connectors/sdk/integration.ts'

/**
 * Without instrumentation-undici (nothing listens on undici's request channel), the connector SDK
 * makes each call's CLIENT span and its `traceparent` itself: one of each per attempt.
 */
const received: string[][] = []
let answers: number[] = []
let server: Server
let url = ''
beforeAll(async () => {
  server = createServer((req, res) => {
    const raw = req.rawHeaders
    received.push(raw.filter((_, i) => i % 2 === 1 && raw[i - 1]?.toLowerCase() === 'traceparent'))
    req.resume()
    const status = answers.shift() ?? 200
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end('{}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/salesorders`
})
afterAll(() => new Promise((resolve) => server.close(resolve)))

describe('CLIENT spans without instrumentation', () => {
  it('are the SDK’s own, one per attempt with one traceparent, named by the semantic conventions', async () => {
    const memory = new InMemorySpanExporter()
    const provider = new BasicTracerProvider({
      spanProcessors: [new IntegrationSpanProcessor(), new SimpleSpanProcessor(memory)],
    })
    const tracer = provider.getTracer('test')
    const step = withStep(ROOT_CONTEXT, {
      connector: 'c1',
      entity: { type: 'order', id: 'SO-9' },
      seen: false,
    })
    const sync = tracer.startSpan('sync order_to_cash.post', {}, step)
    answers = [503]
    const client = new SystemClient('erp', tracer, { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 }, 8, 'auto')
    await client.call(trace.setSpan(step, sync), { method: 'POST', url, route: '/api/salesorders', body: {} })
    sync.end()

    const clients = memory.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT)
    expect(clients.map((c) => c.instrumentationScope.name)).toEqual(['test', 'test'])
    expect(received.map((h) => h.length)).toEqual([1, 1])
    expect(received.map((h) => (h[0] as string).split('-')[2])).toEqual(
      clients.map((c) => c.spanContext().spanId),
    )
    for (const c of clients) {
      expect(c.parentSpanContext?.spanId).toBe(sync.spanContext().spanId)
      expect(c.attributes).toMatchObject({
        'http.request.method': 'POST',
        'url.full': url,
        'server.address': '127.0.0.1',
        'server.port': Number(new URL(url).port),
        'integration.system': 'erp',
        'integration.connector': 'c1',
      })
      expect(c.attributes['retail.order.id']).toBeUndefined()
    }
    expect(clients.map((c) => c.attributes['http.response.status_code'])).toEqual([503, 200])
    expect(clients.map((c) => c.attributes['http.request.resend_count'])).toEqual([0, 1])
    expect(clients.map((c) => c.attributes['signalbox.call.retried'] ?? false)).toEqual([true, false])
    await provider.shutdown()
  })
})
