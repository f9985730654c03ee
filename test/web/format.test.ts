import { describe, expect, it } from 'vitest'
import { axisTime, durationUnit, localTime } from '../../web/src/lib/format.ts'

describe('the one date format', () => {
  it('gives a time-axis tick only the precision it has: seconds on an axis of seconds, the day at midnight', () => {
    const at = (h: number, m: number, s = 0, ms = 0) => new Date(2026, 11, 1, h, m, s, ms).getTime()
    const minute = axisTime(at(13, 46))
    const second = axisTime(at(13, 46, 25))
    expect(second.length).toBeGreaterThan(minute.length)
    expect(second).toContain('25')
    expect(axisTime(at(13, 46, 25, 500))).toContain('500')
    expect(axisTime(at(0, 0))).not.toMatch(/\d\d:\d\d/)
    // Tables and tooltips share one formatter, from a timestamp or an ISO string alike.
    expect(localTime(at(13, 46, 25))).toBe(localTime(new Date(at(13, 46, 25)).toISOString()))
    expect(localTime(null)).toBe('—')
  })

  it('plots durations in the unit that gives round ticks', () => {
    expect(durationUnit(900)).toEqual({ unit: 'ms', ms: 1 })
    expect(durationUnit(45_000)).toEqual({ unit: 's', ms: 1000 })
    expect(durationUnit(16.7 * 60_000)).toEqual({ unit: 'min', ms: 60_000 })
    expect(durationUnit(5 * 3_600_000)).toEqual({ unit: 'h', ms: 3_600_000 })
  })
})
