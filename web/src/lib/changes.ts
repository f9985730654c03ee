import { api, read } from './api.ts'
import type { ChartMarker } from './echarts.ts'

/** Changes of version as the api lists them (`GET /api/changes`). */
export type ChangeQuery = { from?: string; to?: string; flow?: string; slo?: string; integration?: string }

const label = (c: { integration: string; version: string }) => `${c.integration} ${c.version}`

/**
 * The changes in a range as chart markers ("return-to-refund 1.8.0"). A failed read draws no markers
 * rather than break the chart they decorate.
 */
export async function changeMarkers(query: ChangeQuery): Promise<ChartMarker[]> {
  try {
    const r = await read(api.changes.$get({ query }))
    return r.changes.map((c) => ({ at: c.at, label: label(c) }))
  } catch {
    return []
  }
}

/**
 * The same on a category axis of times (a heatmap's columns): each change at the index of the last
 * column at or before it.
 */
export function markersOnCategories(
  markers: readonly ChartMarker[],
  times: readonly string[],
): ChartMarker[] {
  const ms = times.map((t) => Date.parse(t))
  return markers.flatMap((m) => {
    const at = Date.parse(String(m.at))
    const index = ms.findLastIndex((t) => t <= at)
    return index < 0 ? [] : [{ at: index, label: m.label }]
  })
}
