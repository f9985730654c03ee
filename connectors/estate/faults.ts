import type { MiddlewareHandler } from 'hono'

/** Per-system fault injection, changeable at run time (scenarios, tests). Deterministic for a seed. */
export interface Faults {
  /** Share of calls answered 500. */
  errorRate: number
  /** Share of calls answered 429 with Retry-After. */
  throttleRate: number
  /** While true, every call is answered 503. */
  outage: boolean
  /**
   * A planned maintenance window, until this time (epoch ms): every call is answered 503 with a
   * Retry-After of the time left, as cloud ERPs announce theirs.
   */
  maintenanceUntil?: number
  /** The next this-many calls are answered 429, whatever the rates: deterministic throttling. */
  throttleNext?: number
  /** Added to every answer, in milliseconds. */
  latencyMs?: number
  /** Share of calls answered 200 with a body that is not valid JSON. */
  malformedRate?: number
}

export const NO_FAULTS: Faults = Object.freeze({ errorRate: 0, throttleRate: 0, outage: false })

export function seededRandom(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export type FaultAnswer = { status: 503 | 429 | 500; retryAfter?: number; message: string } | undefined

export function injectFault(faults: Faults, random: () => number, system: string): FaultAnswer {
  if (faults.outage) return { status: 503, retryAfter: 1, message: `${system} is unavailable (outage)` }
  const maintenanceLeft = (faults.maintenanceUntil ?? 0) - Date.now()
  if (maintenanceLeft > 0)
    return {
      status: 503,
      retryAfter: Math.ceil(maintenanceLeft / 1000),
      message: `${system} is down for planned maintenance until ${new Date(faults.maintenanceUntil as number).toISOString()}`,
    }
  if (faults.throttleNext && faults.throttleNext > 0) {
    faults.throttleNext--
    return { status: 429, retryAfter: 1, message: `${system} API rate limit exceeded` }
  }
  if (random() < faults.throttleRate)
    return { status: 429, retryAfter: 1, message: `${system} API rate limit exceeded` }
  if (random() < faults.errorRate) return { status: 500, message: `${system} internal error` }
  return undefined
}

/** A simulator whose faults can be changed while it runs. */
export interface FaultySystem {
  faults: Faults
  readonly random: () => number
}

/**
 * Answers with the injected fault, in the system's own error shape, before the route runs; reads the
 * simulator's faults on every call so scenarios and tests can change them at run time.
 */
export function faultInjection(
  sim: FaultySystem,
  system: string,
  errorBody: (status: number, message: string) => unknown = (_, message) => ({ error: message }),
): MiddlewareHandler {
  return async function injectFaults(c, next) {
    const { latencyMs = 0, malformedRate = 0 } = sim.faults
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs))
    if (malformedRate > 0 && sim.random() < malformedRate) {
      return c.body('{"result": "ok", "id": ', 200, { 'content-type': 'application/json' })
    }
    const fault = injectFault(sim.faults, sim.random, system)
    if (!fault) return next()
    if (fault.retryAfter) c.header('Retry-After', String(fault.retryAfter))
    return c.json(errorBody(fault.status, fault.message) as object, fault.status)
  }
}
