import { SECOND_MS } from './duration.ts'

/**
 * How a call is retried, by the connector SDK (calls to retail systems) and by the alert notifier
 * (deliveries): how many attempts in all, the first included, and the exponential bound on the wait
 * between them.
 */
export interface RetryPolicy {
  readonly attempts: number
  readonly baseDelayMs: number
  readonly maxDelayMs: number
  /**
   * `full` (the default): a random wait up to the bound, which spreads the retries of many workers
   * apart; `none`: the bound itself.
   */
  readonly jitter?: 'full' | 'none'
}

/** Worth another attempt: throttled (429), a server error (5xx) or no answer at all (0). Any other 4xx is not. */
export const isTransient = (status: number): boolean => status === 0 || status === 429 || status >= 500

const DELAY_SECONDS = /^\d+(?:\.\d+)?$/
/** IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) and the obsolete RFC 850 form (`Sunday, 06-Nov-94 08:49:37 GMT`). */
const GMT_DATE = /^[A-Z][a-z]+, \d{2}[ -][A-Z][a-z]{2}[ -]\d{2,4} \d{2}:\d{2}:\d{2} GMT$/
/** The obsolete asctime form (`Sun Nov  6 08:49:37 1994`), which names no zone and means GMT. */
const ASCTIME_DATE = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/

/**
 * A `Retry-After` header (RFC 9110, section 10.2.3) as a wait in milliseconds from `now`: either
 * delay-seconds (`120`) or an HTTP-date, a date already past being no wait at all. Undefined when
 * the header is absent or unreadable, so the caller falls back on its own backoff.
 */
export function retryAfterMs(
  header: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  const value = header?.trim() ?? ''
  if (DELAY_SECONDS.test(value)) return Number(value) * SECOND_MS
  const at = GMT_DATE.test(value)
    ? Date.parse(value)
    : ASCTIME_DATE.test(value)
      ? Date.parse(`${value} GMT`)
      : Number.NaN
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/**
 * How long to wait after `failed` attempts (1 after the first) before the next: what the server
 * asked for in `Retry-After` when it said, else exponential backoff from `baseDelayMs`; never more
 * than `maxDelayMs`.
 */
export function retryDelayMs(
  policy: RetryPolicy,
  failed: number,
  retryAfter?: number,
  random: () => number = Math.random,
): number {
  if (retryAfter !== undefined) return Math.min(retryAfter, policy.maxDelayMs)
  const bound = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failed - 1))
  return policy.jitter === 'none' ? bound : random() * bound
}
