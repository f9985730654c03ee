/**
 * Series colours per theme. ECharts 6's default palette has a dark slate (#505372) that vanishes on
 * the dark theme; these all keep at least 3:1 contrast (WCAG for graphics) against the panel of
 * their theme. Red is left out: in this app red means errors.
 */
const LIGHT = [
  '#1d6fd1',
  '#c2410c',
  '#0f7b6c',
  '#8e44ad',
  '#b7791f',
  '#3f7d20',
  '#c0267e',
  '#5b6b8c',
  '#0e7490',
]
const DARK = [
  '#6aa7ff',
  '#ff9f43',
  '#2dd4bf',
  '#c792ea',
  '#f2c94c',
  '#8bd66e',
  '#ff7eb6',
  '#a5b4cf',
  '#38bdf8',
]

/** The panel backgrounds of app.css (`--panel`), which the charts are drawn on. */
export const PANEL = { light: '#ffffff', dark: '#1a1e24' } as const

export function seriesColors(dark: boolean): readonly string[] {
  return dark ? DARK : LIGHT
}

/** The colours text and lines are drawn in on each theme (app.css `--text`, `--muted`, `--line`, `--bad`). */
export function inkOf(dark: boolean) {
  return dark
    ? { text: '#e4e7eb', muted: '#9aa4af', line: '#2d333b', bad: '#ff6b6b', neutral: '#6b7684' }
    : { text: '#1b1f24', muted: '#5b6470', line: '#d9dde3', bad: '#c62f2f', neutral: '#8a94a0' }
}

/** The error ratio at which an edge or system is drawn fully red: anything worse is just as urgent. */
export const FULL_RED_AT = 0.1

/**
 * A colour between neutral grey (no errors) and the theme's red (at FULL_RED_AT and above), in
 * proportion to the error ratio: 0.5 % and 9 % no longer look alike.
 */
export function errorColor(ratio: number | null | undefined, dark: boolean): string {
  const { neutral, bad } = inkOf(dark)
  const t = Math.min(1, Math.max(0, (ratio ?? 0) / FULL_RED_AT))
  return mix(neutral, bad, t)
}

function mix(from: string, to: string, t: number): string {
  const a = rgb(from)
  const b = rgb(to)
  return `#${a
    .map((c, i) =>
      Math.round(c + ((b[i] ?? c) - c) * t)
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`
}

export function rgb(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.slice(1), 16)
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255]
}

/** WCAG relative luminance and contrast ratio, for the palette's own test. */
export function contrast(a: string, b: string): number {
  const lum = (hex: string) => {
    const [r, g, bl] = rgb(hex).map((c) => {
      const s = c / 255
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
    }) as [number, number, number]
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl
  }
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x) as [number, number]
  return (hi + 0.05) / (lo + 0.05)
}
