export interface Range {
  from: string
  to: string
}

export const PRESETS = [
  { label: 'Last 1 h', ms: 3_600_000 },
  { label: 'Last 6 h', ms: 6 * 3_600_000 },
  { label: 'Last 24 h', ms: 24 * 3_600_000 },
  { label: 'Last 7 d', ms: 7 * 24 * 3_600_000 },
]

export function rangeFor(ms: number, now = Date.now()): Range {
  return { from: new Date(now - ms).toISOString(), to: new Date(now).toISOString() }
}
