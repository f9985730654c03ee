const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** A duration as configuration and query strings write it: a whole number and s, m, h or d. */
export const DURATION = /^\d+(s|m|h|d)$/

/** `90s`, `15m`, `48h`, `7d` → milliseconds. Assumes the text matches `DURATION`. */
export function durationMs(text: string): number {
  return Number(text.slice(0, -1)) * UNIT_MS[text.slice(-1) as keyof typeof UNIT_MS]
}
