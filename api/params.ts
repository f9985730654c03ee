import type { StandardSchemaV1 } from '@standard-schema/spec'
import { validator } from 'hono-openapi'
import { z } from 'zod'
import { type AuthContext, actorOf, IDENTITY_HEADER } from '../auth/middleware.ts'
import type { Config } from '../core/config.ts'
import { DAY_MS, durationMs } from '../core/duration.ts'
import { BadRequestError } from '../core/errors.ts'
import { nestsDeeperThan } from '../core/json-paths.ts'

function problemsOf(issues: readonly StandardSchemaV1.Issue[], fallback: string): string[] {
  const problems = issues.map((i) => {
    const path = (i.path ?? []).map((p) => (typeof p === 'object' ? String(p.key) : String(p))).join('.')
    return `${path || fallback}: ${i.message}`
  })
  return [...new Set(problems)]
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
    // A parameter given twice (`limit=5&limit=7`) arrives as an array: which one was meant is a guess.
    for (const [name, value] of Object.entries(result.data as Record<string, unknown>))
      if (Array.isArray(value))
        throw new BadRequestError(
          'invalid_parameter',
          `${name.slice(0, 100)}: given ${value.length === 2 ? 'twice' : `${value.length} times`}; send it once`,
        )
    if (!result.success) invalid(result.error, 'query')
  })
}

/**
 * How deep a JSON body may nest: business documents (an exception's payload, a step's JSON Schema)
 * nest a few levels; code that copies or checks them recurses, so thousands is refused up front.
 */
export const MAX_BODY_DEPTH = 64

/** A 400 `too_deep` for a parsed JSON body nested deeper than `MAX_BODY_DEPTH`. */
export function requireShallow(json: unknown): void {
  if (nestsDeeperThan(json, MAX_BODY_DEPTH))
    throw new BadRequestError('too_deep', `body: nested deeper than ${MAX_BODY_DEPTH} levels`)
}

/** The same for a JSON body. */
export function body<S extends StandardSchemaV1>(schema: S) {
  return validator('json', schema, (result) => {
    requireShallow(result.data)
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

/**
 * The range a lookup without its own range reads: as far back as a read may reach, and a day ahead
 * (producers' clocks drift). Every read carries a time range.
 */
export function lookback(config: Pick<Config, 'query'>, now = Date.now()): { from: Date; to: Date } {
  return { from: new Date(now - config.query.maxRangeDays * DAY_MS), to: new Date(now + DAY_MS) }
}

/**
 * The instants a read or a silence may name: from the epoch (the engine reads times as seconds since
 * it, never before) to the last day a `DateTime64(9)` holds whole (it ends on 2262-04-11).
 */
export const EARLIEST = new Date('1970-01-01T00:00:00Z')
export const LATEST = new Date('2261-12-31T23:59:59.999Z')
const ACCEPTED = `must lie between ${EARLIEST.toISOString().replace('.000Z', 'Z')} and 2261-12-31T23:59:59Z`
const accepted = (ms: number) => ms >= EARLIEST.getTime() && ms <= LATEST.getTime()

/** An RFC 3339 instant with its offset, within the range the store can hold. */
export const instant = z.iso
  .datetime({ offset: true, error: 'an RFC 3339 time such as 2026-11-30T09:00:00Z' })
  .refine((s) => accepted(Date.parse(s)), ACCEPTED)

/**
 * A whole number in `[min, max]` from a query string, said plainly when it is not ("received NaN"
 * is the parser talking).
 */
export function wholeNumber(min: number, max: number) {
  const says = `must be a whole number from ${min} to ${max}`
  return z.coerce.number({ error: says }).int(says).min(min, says).max(max, says)
}

/** `from` and `to` (RFC 3339): the range of a read that has no buckets. */
export const timeRange = z.object({
  from: instant.optional().describe('Start (RFC 3339); default: 24 hours before `to`'),
  to: instant.optional().describe('End (RFC 3339); default: now'),
})

/** `from`, `to` and `step` (60s, 5m, 1h…) for time-series reads. */
export const rangeQuery = timeRange.extend({
  step: z
    .string()
    .regex(/^\d{1,6}(s|m|h|d)$/, 'a duration such as 60s, 5m or 1h')
    .optional()
    .describe('Bucket width, at least 1m and at most the range; default: the range in about 120 buckets'),
})

const spanWords = (ms: number) => (ms === DAY_MS ? '24 hours' : `${ms / DAY_MS} days`)

const bad = (message: string): never => {
  throw new BadRequestError('invalid_parameter', message)
}

/**
 * The range a read asked for, with its defaults (`to`: `defaults.toMs`, `from`: `defaults.spanMs`
 * before `to`): `from` before `to`, no wider than the configured maximum, inside what the store holds.
 */
export function requestedRange(
  q: { from?: string; to?: string },
  config: Pick<Config, 'query'>,
  defaults: { toMs: number; spanMs: number },
): { from: Date; to: Date } {
  const to = q.to ? new Date(q.to) : new Date(defaults.toMs)
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - defaults.spanMs)
  if (!accepted(to.getTime())) bad(`to: ${ACCEPTED}`)
  if (!accepted(from.getTime()))
    bad(
      q.from
        ? `from: ${ACCEPTED}`
        : `to: the default from, ${spanWords(defaults.spanMs)} before it, ${ACCEPTED}`,
    )
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
  const { from, to } = requestedRange(q, config, { toMs: now, spanMs: DAY_MS })
  const spanSeconds = (to.getTime() - from.getTime()) / 1000
  if (!q.step) return { from, to, stepSeconds: NICE_STEPS.find((s) => spanSeconds / s <= 120) ?? 86_400 }
  const stepSeconds = durationMs(q.step) / 1000
  if (stepSeconds < 60) bad('step: at least 1m (rollups are per minute)')
  // A bucket wider than the range would start long before it (buckets are aligned to the epoch).
  if (stepSeconds > spanSeconds) bad(`step: at most the range (${spanSeconds} seconds)`)
  if (spanSeconds / stepSeconds > MAX_BUCKETS)
    bad(`step: the range would have more than ${MAX_BUCKETS} buckets`)
  return { from, to, stepSeconds }
}

/**
 * Who is acting (see `actorOf`): the signed-in user or token, or the name the caller gives without
 * authentication. An action must say; `field` names where the name was expected.
 */
export function actingUser(c: AuthContext, claimed: string | undefined, field = 'by'): string {
  const who = actorOf(c, claimed)
  if (!who)
    throw new BadRequestError('invalid_parameter', `${field}: say who is acting (or send ${IDENTITY_HEADER})`)
  return who
}

/**
 * `?format=` of a route that can also answer in another tool's shape (OpenSLO, Alertmanager). Read
 * here rather than through `query()`: the other shapes are not the route's typed answer, so the web
 * client's types stay the default format's. Documented with `formatParameter`.
 */
export function formatOf<F extends string>(
  c: { req: { queries(name: string): string[] | undefined } },
  formats: readonly F[],
): F {
  const given = c.req.queries('format') ?? []
  if (given.length > 1)
    throw new BadRequestError('invalid_parameter', 'format: given more than once; send it once')
  const [format = formats[0] as F] = given
  if (!formats.includes(format as F))
    throw new BadRequestError(
      'invalid_parameter',
      `format: one of ${formats.join(', ')}, not '${format.slice(0, 50)}'`,
    )
  return format as F
}

/** The OpenAPI description of `?format=` for `describeRoute`. */
export const formatParameter = (formats: readonly string[], description: string) => ({
  in: 'query' as const,
  name: 'format',
  required: false,
  description,
  schema: { type: 'string' as const, enum: [...formats], default: formats[0] },
})
