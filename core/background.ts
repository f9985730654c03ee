import type { Logger } from './logger.ts'
import { readingShared } from './reading.ts'

export interface LoopOptions {
  readonly everyMs: number
  readonly log: Logger
  /** Logged with the error when a tick fails. */
  readonly failure: string
  /** Whether the first tick runs at once, or one interval after the start. */
  readonly immediately?: boolean
}

/**
 * Runs `tick` every `everyMs` until stopped, one tick at a time: a tick due while the last one still
 * runs is skipped. A background loop never throws into its host: a failed tick is logged and the next
 * one tries again. The timer does not keep the process alive. `signal` is aborted once the loop is
 * stopped, so a long tick can end early; the returned function stops the loop and waits for the tick
 * under way.
 */
export function runEvery(
  tick: (signal: AbortSignal) => Promise<unknown>,
  { everyMs, log, failure, immediately = true }: LoopOptions,
): () => Promise<void> {
  const stopping = new AbortController()
  let running: Promise<unknown> | undefined
  const run = () => {
    if (running || stopping.signal.aborted) return
    // Background work is no caller's: its store reads take turns with the api's (core/reading.ts).
    running = readingShared('background', () => tick(stopping.signal))
      .catch((err) => log.warn({ err }, failure))
      .finally(() => {
        running = undefined
      })
  }
  if (immediately) run()
  const timer = setInterval(run, everyMs)
  timer.unref()
  return async () => {
    stopping.abort()
    clearInterval(timer)
    await running
  }
}
