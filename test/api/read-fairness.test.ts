import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createToken } from '../../auth/tokens.ts'
import { anyEvent } from '../support/auth.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

/*
 * The api's store reads are queued as their caller's (store/read-lanes.ts): counted per token, so
 * one token asking more at once than the store answers is told to slow down, and nobody else is.
 * One read at a time per caller makes it visible: a route that reads twice at once is refused.
 */
let sb: TestSignalbox
let agent: string
let other: string
let key: string
beforeAll(async () => {
  sb = await startSignalbox({ SIGNALBOX_AUTH: 'tokens', SIGNALBOX_READS_PER_CALLER: '1' })
  const token = (name: string, kind: 'personal' | 'ingest', role: 'support' | 'viewer') =>
    createToken(sb.store, { name, kind, role, createdBy: 'test' }).then((t) => t.token)
  agent = await token('agent', 'personal', 'support')
  other = await token('other agent', 'personal', 'support')
  key = await token('pos', 'ingest', 'viewer')
})
afterAll(() => sb.close())

const get = (path: string, token = agent) =>
  fetch(`${sb.apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } })

describe("the api's reads, counted per caller", () => {
  it('refuses a caller past its reads at once with 429 and when to come back', async () => {
    // The system map reads its edges and its services side by side: two reads at once.
    const res = await get('/api/systems/map')
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('1')
    expect((await res.json()).error).toMatchObject({ code: 'too_many_reads' })
  })

  it("does not count the token's own check or the collector's reads against anyone", async () => {
    // One read after the token's lookup (the process's own read, as the collector's lookups are).
    expect((await get('/api/exceptions?limit=1', other)).status).toBe(200)
    const sent = await fetch(`${sb.collectorUrl}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${key}` },
      body: anyEvent('fairness-1'),
    })
    expect(sent.status).toBe(200)
  })
})
