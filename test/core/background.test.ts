import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { runEvery } from '../../core/background.ts'
import type { Logger } from '../../core/logger.ts'

const logger = () => {
  const warnings: unknown[][] = []
  return { log: { warn: (...args: unknown[]) => warnings.push(args) } as unknown as Logger, warnings }
}

/** A tick that stays under way until released. */
function heldTicks() {
  const releases: Array<() => void> = []
  const signals: AbortSignal[] = []
  const tick = (signal: AbortSignal) => {
    signals.push(signal)
    return new Promise<void>((resolve) => releases.push(resolve))
  }
  return { tick, releases, signals }
}

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('runEvery', () => {
  it('ticks at once and every interval, skipping a tick due while the last one runs', async () => {
    const { log } = logger()
    const held = heldTicks()
    const stop = runEvery(held.tick, { everyMs: 100, log, failure: 'failed' })
    expect(held.releases).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(300)
    expect(held.releases).toHaveLength(1)
    held.releases[0]?.()
    await vi.advanceTimersByTimeAsync(100)
    expect(held.releases).toHaveLength(2)
    held.releases[1]?.()
    await stop()
  })

  it('waits one interval first when asked to', async () => {
    const { log } = logger()
    const tick = vi.fn(async () => {})
    const stop = runEvery(tick, { everyMs: 100, log, failure: 'failed', immediately: false })
    expect(tick).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(100)
    expect(tick).toHaveBeenCalledTimes(1)
    await stop()
  })

  it('logs a failed tick and tries again at the next one', async () => {
    const { log, warnings } = logger()
    const tick = vi.fn().mockRejectedValueOnce(new Error('store down')).mockResolvedValue(undefined)
    const stop = runEvery(tick, { everyMs: 100, log, failure: 'rollup failed; retrying' })
    await vi.advanceTimersByTimeAsync(100)
    expect(tick).toHaveBeenCalledTimes(2)
    expect(warnings).toEqual([[{ err: new Error('store down') }, 'rollup failed; retrying']])
    await stop()
  })

  it('stops: aborts the signal, waits for the tick under way, and ticks no more', async () => {
    const { log } = logger()
    const held = heldTicks()
    const stop = runEvery(held.tick, { everyMs: 100, log, failure: 'failed' })
    let stopped = false
    const stopping = stop().then(() => {
      stopped = true
    })
    expect(held.signals[0]?.aborted).toBe(true)
    await vi.advanceTimersByTimeAsync(0)
    expect(stopped).toBe(false)
    held.releases[0]?.()
    await stopping
    await vi.advanceTimersByTimeAsync(500)
    expect(held.releases).toHaveLength(1)
  })
})
