import { describe, expect, it } from 'vitest'
import { isTransient, retryAfterMs, retryDelayMs } from '../../core/retry.ts'

const now = Date.UTC(2026, 2, 15, 12, 0, 0)

describe('Retry-After', () => {
  it('reads delay-seconds', () => {
    expect(retryAfterMs('120', now)).toBe(120_000)
    expect(retryAfterMs(' 3 ', now)).toBe(3_000)
    expect(retryAfterMs('0', now)).toBe(0)
    expect(retryAfterMs('1.5', now)).toBe(1_500)
  })

  it('reads an HTTP-date in each of its three forms, as the time left until then', () => {
    expect(retryAfterMs('Sun, 15 Mar 2026 12:00:30 GMT', now)).toBe(30_000)
    expect(retryAfterMs('Sunday, 15-Mar-26 12:02:00 GMT', now)).toBe(120_000)
    // asctime names no zone and means GMT, whatever the process's time zone.
    expect(retryAfterMs('Sun Mar 15 12:00:05 2026', now)).toBe(5_000)
    expect(retryAfterMs('Sun Mar  1 12:00:00 2026', Date.UTC(2026, 2, 1, 11, 59))).toBe(60_000)
  })

  it('waits not at all for a date already past', () => {
    expect(retryAfterMs('Sun, 15 Mar 2026 11:00:00 GMT', now)).toBe(0)
  })

  it('is undefined when absent or unreadable, so the caller falls back on its backoff', () => {
    for (const header of [
      null,
      undefined,
      '',
      'soon',
      '-5',
      '5s',
      '2026-03-15T12:00:30Z',
      'Sun, 99 Foo 2026',
    ])
      expect(retryAfterMs(header, now), String(header)).toBeUndefined()
  })
})

describe('retry delays', () => {
  const policy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 }

  it('back off exponentially up to the maximum, without jitter when asked', () => {
    const fixed = { ...policy, jitter: 'none' as const }
    expect([1, 2, 3, 4, 5].map((failed) => retryDelayMs(fixed, failed))).toEqual([100, 200, 400, 800, 1_000])
  })

  it('jitter in full by default: a random share of the bound', () => {
    expect(retryDelayMs(policy, 3, undefined, () => 0.5)).toBe(200)
    expect(retryDelayMs(policy, 9, undefined, () => 0.25)).toBe(250)
  })

  it("follow the server's Retry-After, capped at the maximum", () => {
    expect(retryDelayMs(policy, 1, 700)).toBe(700)
    expect(retryDelayMs(policy, 1, 0)).toBe(0)
    expect(retryDelayMs(policy, 1, 60_000)).toBe(1_000)
  })

  it('retry throttling, server errors and no answer; not other client errors', () => {
    expect([0, 429, 500, 503].map(isTransient)).toEqual([true, true, true, true])
    expect([400, 401, 404, 409, 422].map(isTransient)).toEqual([false, false, false, false, false])
  })
})
