import type { z } from 'zod'
import type { Config } from '../core/config.ts'
import { BadRequestError } from '../core/errors.ts'

/** Validates query parameters; a failure is a 400 that names each bad parameter. */
export function parseQuery<S extends z.ZodType>(schema: S, query: Record<string, string>): z.infer<S> {
  const parsed = schema.safeParse(query)
  if (parsed.success) return parsed.data
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`)
  throw new BadRequestError('invalid_parameter', problems.join('; '), { problems })
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
