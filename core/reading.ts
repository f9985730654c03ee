import { AsyncLocalStorage } from 'node:async_hooks'

/*
 * Who the store's reads are for: the order they reach the store in is decided by it
 * (store/read-lanes.ts). Reads made outside any of these are the process's own urgent ones: the
 * collector's exactly-once lookups and the token checks in front of every request.
 */

export interface Reader {
  readonly id: string
  /** Aborted when the reader's request goes away: its reads still waiting are dropped. */
  readonly signal?: AbortSignal
  /** Held to the reads one caller may have waiting or running (an api caller is; shared work is not). */
  readonly capped: boolean
}

const readers = new AsyncLocalStorage<Reader>()

export const currentReader = (): Reader | undefined => readers.getStore()

/** Runs `fn` with the store reads it makes (and those of what it awaits) queued as api caller `id`'s. */
export function readingAs<T>(id: string, signal: AbortSignal | undefined, fn: () => T): T {
  return readers.run({ id, signal, capped: true }, fn)
}

/**
 * Runs `fn`, work that is no one caller's (a computation several callers share, background loops, a
 * health check), with its reads queued as `name`'s: taking turns with the api's callers, never
 * dropped with the request that happened to start it, never refused for holding many.
 */
export function readingShared<T>(name: string, fn: () => T): T {
  return readers.run({ id: `shared ${name}`, capped: false }, fn)
}
