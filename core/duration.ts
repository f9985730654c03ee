import { z } from 'zod'

/** Lengths of time in milliseconds: the one place they are written. */
export const SECOND_MS = 1000
export const MINUTE_MS = 60 * SECOND_MS
export const HOUR_MS = 60 * MINUTE_MS
export const DAY_MS = 24 * HOUR_MS

const UNIT_MS = { s: SECOND_MS, m: MINUTE_MS, h: HOUR_MS, d: DAY_MS } as const

/** A duration as configuration and query strings write it: a whole number and s, m, h or d. */
export const DURATION = /^\d+(s|m|h|d)$/

/** `90s`, `15m`, `48h`, `7d` → milliseconds. Assumes the text matches `DURATION`. */
export function durationMs(text: string): number {
  return Number(text.slice(0, -1)) * UNIT_MS[text.slice(-1) as keyof typeof UNIT_MS]
}

/** A duration in a YAML setting (`max_delay: 15m`, `within: 4h`), read as milliseconds. */
export const durationSetting = z
  .string()
  .regex(DURATION, 'a duration such as 90s, 15m, 48h or 7d')
  .transform(durationMs)

/** A length of time in the largest whole unit that fits, as a reason reads it: `3 d`, `12 m`, `40 s`. */
export function roughDuration(ms: number): string {
  const [unit, size] = (
    [
      ['d', DAY_MS],
      ['h', HOUR_MS],
      ['m', MINUTE_MS],
    ] as const
  ).find(([, u]) => ms >= u) ?? ['s', SECOND_MS]
  return `${Math.floor(ms / size)} ${unit}`
}
