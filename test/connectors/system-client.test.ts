import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { context, trace } from '@opentelemetry/api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SystemCallError, SystemClient } from '../../connectors/sdk/http.ts'

/** A system that answers each request with the next of `answers`, and counts what it was sent. */
let answers: Array<{ status: number; retryAfter?: string }> = []
let requests = 0
let server: Server
let url = ''
beforeAll(async () => {
  server = createServer((req, res) => {
    requests++
    const answer = answers.shift() ?? { status: 200 }
    req.resume()
    res.writeHead(answer.status, {
      'content-type': 'application/json',
      ...(answer.retryAfter === undefined ? {} : { 'retry-after': answer.retryAfter }),
    })
    res.end(JSON.stringify({ ok: answer.status < 300 }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/orders`
})
afterAll(() => new Promise((resolve) => server.close(resolve)))

// Waits far longer than a test may take: only a Retry-After the client reads lets these calls finish.
const patient = { attempts: 3, baseDelayMs: 600_000, maxDelayMs: 600_000 }
const erp = () => new SystemClient('erp', trace.getTracer('test'), patient)
const call = () => erp().call(context.active(), { method: 'POST', url, route: '/api/orders', body: {} })

describe('SystemClient retries', () => {
  it('honours Retry-After as delay-seconds and as an HTTP-date', async () => {
    requests = 0
    answers = [
      { status: 429, retryAfter: '0' },
      { status: 503, retryAfter: new Date(Date.now() - 1_000).toUTCString() },
      { status: 200 },
    ]
    expect(await call()).toEqual({ ok: true })
    expect(requests).toBe(3)
  })

  it('gives up at once on a client error, Retry-After or not', async () => {
    requests = 0
    answers = [{ status: 422, retryAfter: '0' }]
    await expect(call()).rejects.toBeInstanceOf(SystemCallError)
    expect(requests).toBe(1)
  })
})
