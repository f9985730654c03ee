import { describe, expect, it } from 'vitest'
import { Admission } from '../../collector/admission.ts'
import { RetryableError } from '../../core/errors.ts'

/* Refuse early rather than hold: what the collector admits before reading a body. */

const refusal = (f: () => unknown) => {
  try {
    f()
  } catch (err) {
    return err as RetryableError
  }
  throw new Error('admitted')
}

describe('admission', () => {
  it('refuses (429, Retry-After) when the write backlog is past the deadline', () => {
    let backlog = 1_000
    const admission = new Admission(1 << 20, 5_000, () => backlog)
    admission.enter(100)()
    backlog = 12_000
    const err = refusal(() => admission.enter(100))
    expect(err).toBeInstanceOf(RetryableError)
    expect({ status: err.status, code: err.code, retryAfter: err.retryAfterSeconds }).toEqual({
      status: 429,
      code: 'queue_full',
      retryAfter: 6,
    })
  })

  it('bounds the bytes being decoded, but always lets one request in', () => {
    const admission = new Admission(1_000, 5_000, () => 0)
    const first = admission.enter(5_000) // larger than the budget, alone: admitted
    expect(refusal(() => admission.enter(10)).status).toBe(429)
    first()
    first() // giving a place back twice gives it back once
    const a = admission.enter(600)
    expect(refusal(() => admission.enter(600)).status).toBe(429)
    a()
    admission.enter(600)
  })

  it('counts the decoding queue in the predicted wait, at the rate requests were decoded', () => {
    const admission = new Admission(1 << 30, 5_000, () => 0)
    admission.enter(1_000)(10) // 100 bytes per ms measured
    const waiting = [admission.enter(200_000), admission.enter(200_000), admission.enter(100_000)]
    expect(admission.predictedWaitMs()).toBe(5_000)
    admission.enter(1) // at the deadline, not past it
    expect(refusal(() => admission.enter(1_000)).status).toBe(429)
    for (const leave of waiting) leave()
    expect(admission.predictedWaitMs()).toBeLessThan(1)
  })
})
