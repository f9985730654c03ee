import { DAY_MS } from '../core/duration.ts'

const NS_PER_DAY = BigInt(DAY_MS) * 1_000_000n
/** Clocks drift; a day ahead is a clock problem, further is bad data. */
const MAX_FUTURE_NS = NS_PER_DAY

/**
 * The times the store keeps for a signal retained `days`: anything older would be dropped by TTL at
 * once, so the collector refuses it up front and says so.
 */
export function retainedWindow(nowMs: number, days: number): { oldest: bigint; newest: bigint } {
  const now = BigInt(nowMs) * 1_000_000n
  return { oldest: now - BigInt(days) * NS_PER_DAY, newest: now + MAX_FUTURE_NS }
}
