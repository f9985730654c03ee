import { afterEach, describe, expect, it, vi } from 'vitest'
import { runEvery } from '../../core/background.ts'
import { createLogger } from '../../core/logger.ts'
import { readingAs } from '../../core/reading.ts'
import { ReadAbandonedError, ReadLanes, TooManyReadsError } from '../../store/read-lanes.ts'

/** A read that runs until the test lets it finish, noting when it started. */
function reads() {
  const started: string[] = []
  const finish = new Map<string, () => void>()
  const read = (name: string) => () => {
    started.push(name)
    return new Promise<string>((resolve) => finish.set(name, () => resolve(name)))
  }
  /** Lets reads finish one at a time, in the order they started, until none is left running. */
  const drain = async () => {
    for (let i = 0; i < started.length; i++) {
      finish.get(started[i] as string)?.()
      await new Promise((r) => setImmediate(r))
    }
  }
  return { started, read, drain }
}

const WAIT = 60_000

describe('the order reads reach the store in', () => {
  afterEach(() => vi.useRealTimers())

  it('gives each caller a turn in rotation, one read each, and the process its own reads first', async () => {
    const lanes = new ReadLanes(1, 64)
    const { started, read, drain } = reads()
    const all = [
      ...[1, 2, 3, 4, 5, 6].map((i) =>
        readingAs('viewer a', undefined, () => lanes.run(read(`a${i}`), WAIT)),
      ),
      readingAs('viewer b', undefined, () => lanes.run(read('b1'), WAIT)),
      lanes.run(read('collector'), WAIT),
    ]
    await drain()
    await Promise.all(all)
    // First come, first served would have run a's six reads before b's one and the collector's.
    expect(started).toEqual(['a1', 'collector', 'a2', 'b1', 'a3', 'a4', 'a5', 'a6'])
  })

  it("never lets the process's own reads hold callers back for more than four in a row", async () => {
    const lanes = new ReadLanes(1, 64)
    const { started, read, drain } = reads()
    const all = [
      lanes.run(read('s0'), WAIT),
      readingAs('viewer', undefined, () => lanes.run(read('viewer'), WAIT)),
      ...[1, 2, 3, 4, 5, 6].map((i) => lanes.run(read(`s${i}`), WAIT)),
    ]
    await drain()
    await Promise.all(all)
    expect(started).toEqual(['s0', 's1', 's2', 's3', 's4', 'viewer', 's5', 's6'])
  })

  it('runs as many reads at once as it has slots', async () => {
    const lanes = new ReadLanes(3, 64)
    const { started, read, drain } = reads()
    const all = [1, 2, 3, 4].map((i) => readingAs('a', undefined, () => lanes.run(read(`a${i}`), WAIT)))
    await new Promise((r) => setImmediate(r))
    expect(started).toEqual(['a1', 'a2', 'a3'])
    await drain()
    await Promise.all(all)
    expect(started).toHaveLength(4)
  })
})

describe('what a caller may hold', () => {
  it('refuses a caller past its reads waiting or running (429), and takes more once some are done', async () => {
    const lanes = new ReadLanes(1, 3)
    const { started, read, drain } = reads()
    const asA = (name: string) => readingAs('a', undefined, () => lanes.run(read(name), WAIT))
    const held = [asA('a1'), asA('a2'), asA('a3')]
    const refused = await asA('a4').catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(TooManyReadsError)
    expect(refused).toMatchObject({ status: 429, code: 'too_many_reads', retryAfterSeconds: 1 })
    // Another caller is not held to a's count.
    const other = readingAs('b', undefined, () => lanes.run(read('b1'), WAIT))
    await drain()
    await Promise.all([...held, other])
    const again = asA('a5')
    await drain()
    expect(await again).toBe('a5')
    expect(started).not.toContain('a4')
  })

  it('lets a request that was let in read as much as it needs, and refuses the next request whole', async () => {
    const lanes = new ReadLanes(1, 2)
    const { started, read, drain } = reads()
    // A request that reads, then reads again after its first read ended.
    const later = readingAs('a', undefined, async () => {
      await lanes.run(read('first'), WAIT)
      return lanes.run(read('again'), WAIT)
    })
    // One listing many things reads them all at once, past the cap: it is not cut off.
    const wide = readingAs('a', undefined, () =>
      Promise.all(Array.from({ length: 5 }, (_, i) => lanes.run(read(`wide${i}`), WAIT))),
    )
    // Another request of the same caller meanwhile is refused at its first read.
    const next = await readingAs('a', undefined, () => lanes.run(read('next'), WAIT)).catch((e: unknown) => e)
    expect(next).toBeInstanceOf(TooManyReadsError)
    await drain()
    await drain()
    await Promise.all([wide, later])
    // The first request's second read came while its caller held five: it was let in all the same.
    expect(started).toEqual(['first', 'wide0', 'wide1', 'wide2', 'wide3', 'wide4', 'again'])
  })

  it('drops the reads of a request that went away before they ran, and frees its count', async () => {
    const lanes = new ReadLanes(1, 2)
    const { started, read, drain } = reads()
    const running = lanes.run(read('collector'), WAIT)
    const request = new AbortController()
    const waiting = [1, 2].map((i) =>
      readingAs('a', request.signal, () => lanes.run(read(`a${i}`), WAIT).catch((e: unknown) => e)),
    )
    request.abort()
    const dropped = await Promise.all(waiting)
    expect(dropped.every((e) => e instanceof ReadAbandonedError)).toBe(true)
    const next = readingAs('a', undefined, () => lanes.run(read('a3'), WAIT))
    await drain()
    await Promise.all([running, next])
    expect(started).toEqual(['collector', 'a3'])
  })

  it('refuses a read that waited as long as it may run (503), without running it', async () => {
    vi.useFakeTimers()
    const lanes = new ReadLanes(1, 64)
    const { started, read, drain } = reads()
    const running = lanes.run(read('slow'), WAIT)
    const late = readingAs('a', undefined, () => lanes.run(read('late'), 1_000).catch((e: unknown) => e))
    await vi.advanceTimersByTimeAsync(1_000)
    expect(await late).toMatchObject({ status: 503, code: 'store_busy' })
    vi.useRealTimers()
    await drain()
    await running
    expect(started).toEqual(['slow'])
  })
})

describe('background work', () => {
  it("takes turns with the api's callers as one more caller, never refused for holding many", async () => {
    const lanes = new ReadLanes(1, 2)
    const { started, read, drain } = reads()
    const collector = lanes.run(read('collector'), WAIT)
    let stop: (() => Promise<void>) | undefined
    // An alert evaluation reading four things at once: more than a caller may hold.
    const evaluation = new Promise<string[]>((resolve, reject) => {
      stop = runEvery(
        () =>
          Promise.all([1, 2, 3, 4].map((i) => lanes.run(read(`evaluator${i}`), WAIT))).then(resolve, reject),
        { everyMs: 60_000, log: createLogger('silent'), failure: 'evaluation failed' },
      )
    })
    const viewer = readingAs('viewer', undefined, () => lanes.run(read('viewer'), WAIT))
    await drain()
    await Promise.all([collector, evaluation, viewer])
    await stop?.()
    expect(started).toEqual(['collector', 'evaluator1', 'viewer', 'evaluator2', 'evaluator3', 'evaluator4'])
  })
})
