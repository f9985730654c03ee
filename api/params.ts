import type { StandardSchemaV1 } from '@standard-schema/spec'
import { validator } from 'hono-openapi'
import { z } from 'zod'
import { actorOf, IDENTITY_HEADER } from '../auth/middleware.ts'
import type { Config } from '../core/config.ts'
import { durationMs } from '../core/duration.ts'
import { BadRequestError } from '../core/errors.ts'

function problemsOf(issues: readonly StandardSchemaV1.Issue[], fallback: string): string[] {
  return issues.map((i) => {
    const path = (i.path ?? []).map((p) => (typeof p === 'object' ? String(p.key) : String(p))).join('.')
    return `${path || fallback}: ${i.message}`
  })
}

/** A 400 that names each bad parameter, in the api's one error shape. */
function invalid(issues: readonly StandardSchemaV1.Issue[], fallback: string): never {
  const problems = problemsOf(issues, fallback)
  throw new BadRequestError('invalid_parameter', problems.join('; '), { problems })
}

/**
 * Route middleware that validates the query string (and documents it in the OpenAPI spec); handlers
 * read the result with `c.req.valid('query')`.
 */
export function query<S extends StandardSchemaV1>(schema: S) {
  return validator('query', schema, (result) => {
    if (!result.success) invalid(result.error, 'query')
  })
}

/** The same for a JSON body. */
export function body<S extends StandardSchemaV1>(schema: S) {
  return validator('json', schema, (result) => {
    if (!result.success) invalid(result.error, 'body')
  })
}

/** The same for path parameters. */
export function params<S extends StandardSchemaV1>(schema: S) {
  return validator('param', schema, (result) => {
    if (!result.success) invalid(result.error, 'path')
  })
}

/** Milliseconds since the epoch (a number, or the decimal string ClickHouse answers) → RFC 3339, UTC. */
export function isoFromMs(ms: string | number): string
export function isoFromMs(ms: string | number | null): string | null
export function isoFromMs(ms: string | number | null): string | null {
  return ms === null ? null : new Date(Number(ms)).toISOString()
}

/** Nanoseconds-since-epoch decimal string → RFC 3339 with nanoseconds, UTC. */
export function isoFromNanos(nanos: string | bigint): string {
  const ns = BigInt(nanos)
  const ms = ns / 1_000_000n
  const iso = new Date(Number(ms)).toISOString() // …:SS.mmmZ
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0')
  return `${iso.slice(0, 19)}.${fraction}Z`
}

export const DAY_MS = 86_400_000

/**
 * The range a lookup without its own range reads: as far back as a read may reach, and a day ahead
 * (producers' clocks drift). Every read carries a time range.
 */
export function lookback(config: Pick<Config, 'query'>, now = Date.now()): { from: Date; to: Date } {
  return { from: new Date(now - config.query.maxRangeDays * DAY_MS), to: new Date(now + DAY_MS) }
}

/** `from` and `to` (RFC 3339): the range of a read that has no buckets. */
export const timeRange = z.object({
  from: z.iso
    .datetime({ offset: true })
    .optional()
    .describe('Start (RFC 3339); default: 24 hours before `to`'),
  to: z.iso.datetime({ offset: true }).optional().describe('End (RFC 3339); default: now'),
})

/** `from`, `to` and `step` (60s, 5m, 1h…) for time-series reads. */
export const rangeQuery = timeRange.extend({
  step: z
    .string()
    .regex(/^\d{1,6}(s|m|h|d)$/, 'a duration such as 60s, 5m or 1h')
    .optional()
    .describe('Bucket width, at least 1m; default: the range in about 120 buckets'),
})

const bad = (message: string): never => {
  throw new BadRequestError('invalid_parameter', message)
}

/** Every range a read accepts: `from` before `to`, no wider than the configured maximum. */
export function boundedRange(from: Date, to: Date, config: Pick<Config, 'query'>): { from: Date; to: Date } {
  if (from >= to) bad('from: must be before to')
  if (to.getTime() - from.getTime() > config.query.maxRangeDays * DAY_MS)
    bad(`from: the range may span at most ${config.query.maxRangeDays} days`)
  return { from, to }
}

export interface ResolvedRange {
  readonly from: Date
  readonly to: Date
  readonly stepSeconds: number
}

const NICE_STEPS = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400]
const MAX_BUCKETS = 1500

/** Defaults (the last 24 hours, about 120 buckets) and bounds for a time-series range. */
export function resolveRange(
  q: z.infer<typeof rangeQuery>,
  config: Pick<Config, 'query'>,
  now = Date.now(),
): ResolvedRange {
  const to = q.to ? new Date(q.to) : new Date(now)
  const { from } = boundedRange(q.from ? new Date(q.from) : new Date(to.getTime() - DAY_MS), to, config)
  const spanSeconds = (to.getTime() - from.getTime()) / 1000
  if (!q.step) return { from, to, stepSeconds: NICE_STEPS.find((s) => spanSeconds / s <= 120) ?? 86_400 }
  const stepSeconds = durationMs(q.step) / 1000
  if (stepSeconds < 60) bad('step: at least 1m (rollups are per minute)')
  if (spanSeconds / stepSeconds > MAX_BUCKETS)
    bad(`step: the range would have more than ${MAX_BUCKETS} buckets`)
  return { from, to, stepSeconds }
}

/**
 * Who is acting (see `actorOf`): the signed-in user or token, or the name the caller gives without
 * authentication. An action must say; `field` names where the name was expected.
 */
export function actingUser(req: Request, claimed: string | undefined, field = 'by'): string {
  const who = actorOf(req, claimed)
  if (!who)
    throw new BadRequestError('invalid_parameter', `${field}: say who is acting (or send ${IDENTITY_HEADER})`)
  return who
}
