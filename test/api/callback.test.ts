import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { probeCallback } from '../../api/replay/callback.ts'

/*
 * A callback is any URL a connector registered: Signalbox probes it every half minute and on every
 * registration. One that redirects, streams without end or never answers must cost Signalbox a
 * bounded read and a bounded wait, and must not be followed elsewhere.
 */

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`
const servers: Server[] = []
afterAll(() => {
  for (const s of servers) s.close()
})

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/callbacks`
}

describe('probing a callback', () => {
  it('treats a redirect as the answer, and does not follow it', async () => {
    let followed = false
    const target = await serve((_, res) => {
      followed = true
      res.end('{}')
    })
    const url = await serve((_, res) => {
      res.writeHead(307, { location: target })
      res.end()
    })
    const answer = await probeCallback(url, SECRET, 'order-to-cash', 2_000)
    expect(answer).toMatchObject({ answered: false, httpStatus: 307 })
    expect(followed).toBe(false)
  })

  it('reads at most a little of an answer that streams without end', async () => {
    let sent = 0
    let closed = false
    const url = await serve((_, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      const chunk = Buffer.alloc(64 * 1024, 32)
      const more = () => {
        while (!closed && sent < 512 * 1024 * 1024 && res.write(chunk)) sent += chunk.length
        if (!closed && sent < 512 * 1024 * 1024) res.once('drain', more)
      }
      res.on('close', () => {
        closed = true
      })
      more()
    })
    const answer = await probeCallback(url, SECRET, 'order-to-cash', 10_000)
    expect(answer.httpStatus).toBe(200)
    await expect.poll(() => closed).toBe(true)
    expect(sent).toBeLessThan(64 * 1024 * 1024)
  })

  it('gives up on a callback that never answers, saying so', async () => {
    const url = await serve(() => {})
    const answer = await probeCallback(url, SECRET, 'order-to-cash', 300)
    expect(answer).toMatchObject({ answered: false, httpStatus: 0 })
    expect(answer.error).toMatch(/did not answer within/)
  })
})
