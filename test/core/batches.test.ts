import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  type BatchJob,
  businessDayBounds,
  businessDayOf,
  dayClosed,
  loadBatches,
  missedRun,
} from '../../core/batches.ts'
import { ConfigError } from '../../core/errors.ts'

const MIN = 60_000
const nightly: BatchJob = {
  name: 'posting',
  schedule: '30 1 * * *',
  graceMs: 45 * MIN,
  system: 'pos',
  description: '',
}
const at = (iso: string) => Date.parse(iso)

describe('batches.yaml', () => {
  it('reports a cron expression croner cannot read, and a time zone that is not one, with file and line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'signalbox-batches-'))
    writeFileSync(
      join(dir, 'batches.yaml'),
      'timezone: Mars/Olympus\njobs:\n  posting:\n    system: pos\n    schedule: "every night"\n',
    )
    try {
      loadBatches(dir)
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      expect(String((err as ConfigError).problems)).toContain('batches.yaml:1: timezone')
    }
    writeFileSync(
      join(dir, 'batches.yaml'),
      'jobs:\n  posting:\n    system: pos\n    schedule: "every night"\n',
    )
    expect(() => loadBatches(dir)).toThrow(/batches.yaml:4: jobs.posting.schedule: a cron expression/)
  })

  it('declares no jobs when there is no file', () => {
    expect(loadBatches(mkdtempSync(join(tmpdir(), 'signalbox-batches-'))).jobs.size).toBe(0)
  })
})

describe('a missed run', () => {
  it('is a scheduled time past its grace with no run started since shortly before it', () => {
    // Due at 01:30; within its grace until 02:15.
    expect(missedRun(nightly, 'UTC', at('2026-11-30T01:31:00Z'), at('2026-12-01T02:00:00Z'))).toBeNull()
    expect(missedRun(nightly, 'UTC', at('2026-11-30T01:31:00Z'), at('2026-12-01T02:16:00Z'))).toEqual({
      due: at('2026-12-01T01:30:00Z'),
    })
    expect(missedRun(nightly, 'UTC', at('2026-12-01T01:29:00Z'), at('2026-12-01T02:16:00Z'))).toBeNull()
    expect(missedRun(nightly, 'UTC', null, at('2026-12-01T02:16:00Z'))).not.toBeNull()
  })

  it('reads the schedule in the configured time zone', () => {
    // 01:30 in London in summer is 00:30 UTC.
    expect(missedRun(nightly, 'Europe/London', null, at('2026-07-01T01:20:00Z'))).toEqual({
      due: at('2026-07-01T00:30:00Z'),
    })
  })
})

describe('business days', () => {
  it('start and end at midnight in the zone, 23 or 25 hours long across a clock change', () => {
    expect(businessDayBounds('2026-03-29', 'Europe/London')).toEqual({
      start: at('2026-03-29T00:00:00Z'),
      end: at('2026-03-29T23:00:00Z'),
    })
    expect(businessDayBounds('2026-10-25', 'Europe/London')).toEqual({
      start: at('2026-10-24T23:00:00Z'),
      end: at('2026-10-26T00:00:00Z'),
    })
    expect(businessDayOf(at('2026-07-01T23:30:00Z'), 'Europe/London')).toBe('2026-07-02')
  })

  it('close a set time after they end', () => {
    const batches = { timezone: 'UTC', dayClosesAfterMs: 6 * 60 * MIN }
    expect(dayClosed('2026-11-30', batches, at('2026-12-01T05:59:00Z'))).toBe(false)
    expect(dayClosed('2026-11-30', batches, at('2026-12-01T06:00:00Z'))).toBe(true)
  })
})
