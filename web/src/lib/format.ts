/** Times in the viewer's zone; the UTC value goes in the title (shown on hover). */
export function localTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  return d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' })
}

export function utcTitle(iso: string | null | undefined): string {
  return iso ? `${iso} (UTC)` : ''
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—'
  const abs = Math.abs(ms)
  if (abs < 1) return `${ms.toFixed(2)} ms`
  if (abs < 1000) return `${ms.toFixed(abs < 10 ? 1 : 0)} ms`
  if (abs < 60_000) return `${(ms / 1000).toFixed(1)} s`
  if (abs < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`
  if (abs < 86_400_000) return `${(ms / 3_600_000).toFixed(1)} h`
  return `${(ms / 86_400_000).toFixed(1)} d`
}

export function percent(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined
    ? '—'
    : `${(ratio * 100).toFixed(ratio < 0.01 && ratio > 0 ? 2 : 1)} %`
}

export function count(n: number): string {
  return n.toLocaleString()
}

/** Status words with an icon, so colour is never the only signal. */
export const STATUS_ICON: Record<string, string> = {
  done: '✓',
  completed: '✓',
  pending: '○',
  in_progress: '◔',
  late: '⏰',
  stuck: '⏰',
  failed: '✕',
  skipped: '↷',
  cancelled: '⊘',
  replayed: '↻',
}
