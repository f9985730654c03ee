import { describe, expect, it } from 'vitest'
import { InFlight } from '../../connectors/sdk/in-flight.ts'

describe('InFlight', () => {
  it('waits for the work tracked, the work it starts while being waited for included, failures too', async () => {
    const work = new InFlight()
    const finished: string[] = []
    let release: () => void = () => undefined
    const last = new Promise<void>((resolve) => {
      release = resolve
    })
    // A step that starts its next step before it ends, as a connector's runs do; then fails.
    void work
      .track(
        (async () => {
          await Promise.resolve()
          void work.track(last.then(() => finished.push('next')))
          finished.push('first')
          throw new Error('the first step failed')
        })(),
      )
      .catch(() => undefined)
    let settled = false
    const waiting = work.settled().then(() => {
      settled = true
    })
    await new Promise((resolve) => setImmediate(resolve))
    expect(finished).toEqual(['first'])
    expect(settled).toBe(false)
    release()
    await waiting
    expect(finished).toEqual(['first', 'next'])
  })

  it('is settled at once with nothing in flight', async () => {
    await expect(new InFlight().settled()).resolves.toBeUndefined()
  })
})
