import { describe, expect, it } from 'vitest'
import { criticalSegments } from '../../api/critical-path.ts'

const s = (spanId: string, parentSpanId: string | null, start: number, end: number) => ({
  spanId,
  parentSpanId,
  startNs: BigInt(start),
  endNs: BigInt(end),
})
const plain = (m: Map<string, ReadonlyArray<readonly [bigint, bigint]>>) =>
  Object.fromEntries([...m].map(([id, list]) => [id, list.map(([a, b]) => [Number(a), Number(b)])]))

describe('the critical path as stretches of time', () => {
  it('gives a parent only the time its children do not cover, so a chain is not critical end to end', () => {
    // A connector's sync (0–100) waits on its call to the ERP (10–90), which waits on the ERP (20–80).
    const path = criticalSegments([
      s('sync', null, 0, 100),
      s('call', 'sync', 10, 90),
      s('erp', 'call', 20, 80),
    ])
    expect(plain(path)).toEqual({
      sync: [
        [0, 10],
        [90, 100],
      ],
      call: [
        [10, 20],
        [80, 90],
      ],
      erp: [[20, 80]],
    })
  })

  it('leaves out a child that overlapped the one after it, and a retry is on the path after the first try', () => {
    // Two tries in a row (the first failed), and a cache read overlapping the second that held nothing up.
    const path = criticalSegments([
      s('sync', null, 0, 100),
      s('try1', 'sync', 0, 40),
      s('try2', 'sync', 50, 100),
      s('cache', 'sync', 45, 60),
    ])
    expect(plain(path)).toEqual({ sync: [[40, 50]], try1: [[0, 40]], try2: [[50, 100]] })
    expect(path.has('cache')).toBe(false)
  })
})
