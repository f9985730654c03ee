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
    admission.enter(100).leave()
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
    first.leave()
    first.leave() // giving a place back twice gives it back once
    const a = admission.enter(600)
    expect(refusal(() => admission.enter(600)).status).toBe(429)
    a.leave()
    admission.enter(600)
  })

  it('charges a body as it arrives: a sender holds what it has sent, and is stopped past the bound', () => {
    const held: number[] = []
    const admission = new Admission(
      1_000,
      5_000,
      () => 0,
      1,
      (bytes) => held.push(bytes),
    )
    const idle = [admission.enter(), admission.enter()] // declared much, sent nothing yet
    const reading = admission.enter()
    reading.charge(400)
    reading.charge(500) // alone past nothing: still in
    idle[0]?.charge(50)
    expect(refusal(() => idle[1]?.charge(200)).status).toBe(429)
    expect(admission.bytes).toBe(950)
    reading.leave(9) // 900 bytes in 9 ms
    for (const place of idle) place.leave()
    expect(admission.bytes).toBe(0)
    expect(held).toEqual([400, 900, 950, 50, 0, 0])
  })

  it('counts the decoding queue in the predicted wait, at the rate requests were decoded', () => {
    const admission = new Admission(1 << 30, 5_000, () => 0)
    admission.enter(1_000).leave(10) // 100 bytes per ms measured
    const waiting = [admission.enter(200_000), admission.enter(200_000), admission.enter(100_000)]
    expect(admission.predictedWaitMs()).toBe(5_000)
    admission.enter(1) // at the deadline, not past it
    expect(refusal(() => admission.enter(1_000)).status).toBe(429)
    for (const place of waiting) place.leave()
    expect(admission.predictedWaitMs()).toBeLessThan(1)
  })
})
