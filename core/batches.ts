import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Cron } from 'croner'
import { z } from 'zod'
import { DAY_MS, durationSetting, HOUR_MS } from './duration.ts'
import { readYamlConfig } from './yaml-config.ts'

/** A scheduled job as `batches.yaml` declares it: when it runs and how late it may be heard from. */
export interface BatchJob {
  readonly name: string
  /** A cron expression (five fields, or six with seconds), read in the file's time zone. */
  readonly schedule: string
  /** How long after a scheduled time a run must have started before the run counts as missed. */
  readonly graceMs: number
  /** The system the job runs in (`pos`, `erp`): what a token scoped to systems sees it by. */
  readonly system: string
  readonly description: string
}

export interface BatchConfig {
  /** IANA time zone of the schedules and of business days. */
  readonly timezone: string
  /** A business day is closed (finance expects it reconciled) this long after it ends. */
  readonly dayClosesAfterMs: number
  readonly jobs: ReadonlyMap<string, BatchJob>
}

/** Job names travel in paths (`/api/batches/<job>/runs`) and alert labels. */
export const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/

const validCron = (expr: string, timezone: string) => {
  try {
    new Cron(expr, { paused: true, timezone })
    return true
  } catch {
    return false
  }
}

const validZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: tz })
    return true
  } catch {
    return false
  }
}

const jobSchema = z
  .object({
    schedule: z.string().min(1),
    grace: durationSetting.default(30 * 60_000),
    system: z.string().min(1).max(100),
    description: z.string().default(''),
  })
  .strict()

const fileSchema = z
  .object({
    timezone: z.string().default('UTC').refine(validZone, 'an IANA time zone such as UTC or Europe/London'),
    day_closes_after: durationSetting.default(6 * HOUR_MS),
    jobs: z
      .record(z.string().regex(JOB_NAME, 'letters, digits, dot, dash and underscore'), jobSchema)
      .default({}),
  })
  .strict()

export const NO_BATCHES: BatchConfig = Object.freeze({
  timezone: 'UTC',
  dayClosesAfterMs: 6 * HOUR_MS,
  jobs: new Map(),
})

/**
 * Reads `batches.yaml` (see `readYamlConfig` for how mistakes are reported): each schedule is parsed
 * with croner, so a cron expression it cannot read stops start-up. No file: no jobs declared.
 */
export function loadBatches(configDir: string): BatchConfig {
  const file = join(configDir, 'batches.yaml')
  if (!existsSync(file)) return NO_BATCHES
  const parsed = readYamlConfig(file, fileSchema, (f) =>
    Object.entries(f.jobs)
      .filter(([, j]) => !validCron(j.schedule, f.timezone))
      .map(([name]) => ({
        path: ['jobs', name, 'schedule'],
        message: 'a cron expression such as "0 2 * * *" (minute hour day month weekday)',
      })),
  )
  return Object.freeze({
    timezone: parsed.timezone,
    dayClosesAfterMs: parsed.day_closes_after,
    jobs: new Map(
      Object.entries(parsed.jobs).map(([name, j]) => [
        name,
        { name, schedule: j.schedule, graceMs: j.grace, system: j.system, description: j.description },
      ]),
    ),
  })
}

const cronOf = (job: BatchJob, timezone: string) => new Cron(job.schedule, { paused: true, timezone })

/** The next time the job is scheduled after `nowMs`. */
export function nextDue(job: BatchJob, timezone: string, nowMs: number): number | null {
  return cronOf(job, timezone).nextRun(new Date(nowMs))?.getTime() ?? null
}

/**
 * The latest scheduled time whose grace has passed by `nowMs`: a run should have been heard from
 * by now. Null when the job was not due within the last year.
 */
export function lastDue(job: BatchJob, timezone: string, nowMs: number): number | null {
  const [due] = cronOf(job, timezone).previousRuns(1, new Date(nowMs - job.graceMs))
  return due && due.getTime() >= nowMs - 366 * DAY_MS ? due.getTime() : null
}

/**
 * A missed run: the job was due (its grace passed) and no run started within the grace before or
 * after that time. Runs may start a little early (clocks, a scheduler's jitter), hence before too.
 */
export function missedRun(
  job: BatchJob,
  timezone: string,
  lastStartedMs: number | null,
  nowMs: number,
): { due: number } | null {
  const due = lastDue(job, timezone, nowMs)
  if (due === null) return null
  return lastStartedMs !== null && lastStartedMs >= due - job.graceMs ? null : { due }
}

/** A business day (`2026-12-01`) in the zone: where it starts and ends, in epoch milliseconds. */
export function businessDayBounds(day: string, timezone: string): { start: number; end: number } {
  const start = zonedMidnight(day, timezone)
  const next = new Date(`${day}T00:00:00Z`)
  next.setUTCDate(next.getUTCDate() + 1)
  return { start, end: zonedMidnight(next.toISOString().slice(0, 10), timezone) }
}

/** The business day an instant falls on in the zone. */
export function businessDayOf(ms: number, timezone: string): string {
  // en-CA writes dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone: timezone }).format(new Date(ms))
}

/** Midnight at the start of `day` in the zone, found from the zone's offset at that UTC midnight. */
function zonedMidnight(day: string, timezone: string): number {
  const utc = Date.parse(`${day}T00:00:00Z`)
  const offsetAt = (ms: number) => {
    const parts = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    }).formatToParts(new Date(ms))
    const get = (t: string) => Number(parts.find((p) => p.type === t)?.value)
    return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - ms
  }
  // Twice: the offset at the guess may differ from the offset at the real midnight (a DST change).
  const guess = utc - offsetAt(utc)
  return utc - offsetAt(guess)
}

/** Whether finance may expect the day reconciled: it ended `dayClosesAfterMs` ago. */
export function dayClosed(
  day: string,
  batches: Pick<BatchConfig, 'timezone' | 'dayClosesAfterMs'>,
  nowMs: number,
) {
  return businessDayBounds(day, batches.timezone).end + batches.dayClosesAfterMs <= nowMs
}
