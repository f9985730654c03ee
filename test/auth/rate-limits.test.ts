import { setTimeout as delay } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { LookupGuard, RateLimiter } from '../../auth/rate-limit.ts'
import { createToken } from '../../auth/tokens.ts'
import { anyEvent, getAs } from '../support/auth.ts'
import { startSignalbox } from '../support/signalbox.ts'

/**
 * The limits count in wall-clock minutes: a run of requests that straddles a minute's end is counted
 * in two windows (a CI run once saw its third request of two allowed pass). Starts the run early
 * enough in a minute, waiting for the next when too little of this one is left.
 */
async function awayFromMinuteEnd(neededMs = 15_000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000)
  if (left < neededMs) await delay(left + 50)
}

describe('rate limits', () => {
  it('count requests per token in one-minute windows and say when to come back', () => {
    let now = 60_000 * 1000 + 45_000
    const limiter = new RateLimiter(2, () => now)
    expect([limiter.take('a'), limiter.take('a'), limiter.take('b')]).toEqual([
      undefined,
      undefined,
      undefined,
    ])
    expect(limiter.take('a')).toBe(15)
    now += 15_000
    expect(limiter.take('a')).toBeUndefined()
  })

  it('let a token id be looked up within its rate, and ids not seen lately at most so many a second', () => {
    let now = 60_000 * 1000
    const guard = new LookupGuard(3, 2, () => now)
    guard.after('known', true) // a request it was let do: one of its three this minute
    // Two unknown ids a second are looked up; more wait for the next second. A known id is not held up.
    expect([guard.before('x1'), guard.before('x2'), guard.before('x3')?.seconds]).toEqual([
      undefined,
      undefined,
      1,
    ])
    for (const id of ['x1', 'x2']) guard.after(id, false)
    expect(guard.before('known')).toBeUndefined()
    guard.after('known', true)
    now += 1_000
    expect(guard.before('x3')).toBeUndefined()
    // A made-up secret beside the real id spends nothing of its minute; it makes the id unknown again.
    guard.after('x3', false)
    expect(guard.before('known')).toBeUndefined()
    guard.after('known', false)
    expect(guard.before('known')).toBeUndefined()
    guard.after('known', true)
    // Per id, the minute's rate (3) holds before the lookup: its fourth request waits for the next minute.
    expect(guard.before('known')?.seconds).toBe(59)
  })

  it('answer a flood of made-up tokens 429 without a lookup each, while known tokens go on', async () => {
    const sb = await startSignalbox({ SIGNALBOX_AUTH: 'tokens' })
    try {
      const viewer = (
        await createToken(sb.store, { name: 'steady', kind: 'personal', role: 'viewer', createdBy: 't' })
      ).token
      expect((await getAs(`${sb.apiUrl}/api/flows`, viewer)).status).toBe(200)
      const madeUp = () => `sbx_${Math.random().toString(16).slice(2, 10).padEnd(16, '0')}.${'A'.repeat(43)}`
      const flood = await Promise.all(
        Array.from({ length: 400 }, () => getAs(`${sb.apiUrl}/api/flows`, madeUp()).then((r) => r.status)),
      )
      expect(new Set(flood)).toEqual(new Set([401, 429]))
      expect((await getAs(`${sb.apiUrl}/api/flows`, viewer)).status).toBe(200)
    } finally {
      await sb.close()
    }
  })

  it('answer 429 with Retry-After at the api (per token) and at the collector (per key)', async () => {
    const limited = await startSignalbox({
      SIGNALBOX_AUTH: 'tokens',
      SIGNALBOX_RATE_LIMIT_PER_MINUTE: '3',
      SIGNALBOX_INGEST_RATE_LIMIT_PER_MINUTE: '2',
    })
    try {
      const viewer = (
        await createToken(limited.store, { name: 'busy', kind: 'personal', role: 'viewer', createdBy: 't' })
      ).token
      const other = (
        await createToken(limited.store, { name: 'calm', kind: 'personal', role: 'viewer', createdBy: 't' })
      ).token
      const statuses: number[] = []
      await awayFromMinuteEnd()
      for (let i = 0; i < 4; i++) statuses.push((await getAs(`${limited.apiUrl}/api/flows`, viewer)).status)
      expect(statuses).toEqual([200, 200, 200, 429])
      const res = await fetch(`${limited.apiUrl}/api/flows`, {
        headers: { authorization: `Bearer ${viewer}` },
      })
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
      expect((await getAs(`${limited.apiUrl}/api/flows`, other)).status).toBe(200) // others are not held up

      const key = (
        await createToken(limited.store, { name: 'pos', kind: 'ingest', role: 'viewer', createdBy: 't' })
      ).token
      const send = () =>
        fetch(`${limited.collectorUrl}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${key}` },
          body: anyEvent(`rl-${Math.random()}`),
        })
      await awayFromMinuteEnd()
      expect([(await send()).status, (await send()).status]).toEqual([200, 200])
      const third = await send()
      expect(third.status).toBe(429)
      expect(third.headers.get('retry-after')).toMatch(/^\d+$/)
    } finally {
      await limited.close()
    }
  })
})
