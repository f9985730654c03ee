import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deliveries, type Notification } from '../../alerts/channels.ts'

let retryAfter = ''
let server: Server
let url = ''
beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume()
    res.writeHead(503, retryAfter ? { 'retry-after': retryAfter } : {})
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
})
afterAll(() => new Promise((resolve) => server.close(resolve)))

const notification: Notification = {
  id: 'msg_1',
  groupKey: 'g',
  receiver: 'hook',
  status: 'firing',
  groupLabels: {},
  alerts: [
    {
      id: 'a1',
      status: 'firing',
      rule: 'r',
      severity: 'page',
      labels: {},
      summary: 's',
      startsAt: new Date(0).toISOString(),
      endsAt: null,
      url: 'http://signalbox.test/#/alerts/a1',
    },
  ],
  sentAt: new Date(0).toISOString(),
  externalUrl: 'http://signalbox.test',
  repeatIntervalMs: 3_600_000,
}

const send = async () => {
  const [delivery] = deliveries({ webhook: { url } }, notification, {})
  return delivery?.send()
}

describe('a delivery refused for now', () => {
  it('passes on Retry-After in either form for the delivery loop to wait', async () => {
    retryAfter = '7'
    expect(await send()).toEqual({ status: 503, retryAfterMs: 7_000 })
    retryAfter = new Date(Date.now() + 3_600_000).toUTCString()
    const later = await send()
    expect(later?.retryAfterMs).toBeGreaterThan(3_500_000)
    expect(later?.retryAfterMs).toBeLessThanOrEqual(3_600_000)
    retryAfter = ''
    expect(await send()).toEqual({ status: 503, retryAfterMs: undefined })
  })
})
