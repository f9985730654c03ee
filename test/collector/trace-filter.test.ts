import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { TraceFilter } from '../../collector/spans/trace-filter.ts'

const randomIds = (n: number) => Array.from({ length: n }, () => randomBytes(16).toString('hex'))
/** Ids that are not random: a seconds timestamp first (as some tracers make them), then a counter. */
const patternedIds = (n: number, from: number) =>
  Array.from(
    { length: n },
    (_, i) =>
      `${(1_764_000_000 + Math.floor((from + i) / 1000)).toString(16)}${(from + i).toString(16).padStart(24, '0')}`,
  )

describe('trace filter', () => {
  it('never says an added id is absent', () => {
    const filter = new TraceFilter(20)
    const ids = randomIds(150_000) // past its capacity of about 104,000
    for (const id of ids) filter.add(id)
    expect(ids.every((id) => filter.mayHold(id))).toBe(true)
    // Counted once each: a repeat adds nothing; so does an id that was already a false "maybe".
    expect(filter.size).toBeGreaterThan(145_000)
    expect(filter.size).toBeLessThanOrEqual(150_000)
    for (const id of ids.slice(0, 1000)) filter.add(id)
    expect(filter.size).toBeLessThanOrEqual(150_000)
  })

  it.each([
    ['random', randomIds(100_000), randomIds(50_000)],
    ['timestamped', patternedIds(100_000, 0), patternedIds(50_000, 100_000)],
  ])('at capacity, about 1%% of %s ids never added are "maybe"', (_, added, others) => {
    const filter = new TraceFilter(20)
    expect(filter.capacity).toBe(103_831)
    for (const id of added) filter.add(id)
    const maybe = others.filter((id) => filter.mayHold(id)).length / others.length
    expect(maybe).toBeGreaterThan(0) // it is a filter, not a set
    expect(maybe).toBeLessThan(0.02)
  })

  it('refuses a size it cannot index', () => {
    expect(() => new TraceFilter(32)).toThrow(RangeError)
    expect(() => new TraceFilter(8)).toThrow(RangeError)
  })
})
