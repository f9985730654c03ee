import type { ChartOption } from './echarts.ts'
import { axisTime, escapeHtml, localTime } from './format.ts'
import { inkOf, seriesColors } from './palette.ts'

type Obj = Record<string, unknown>
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v : v ? [v] : []) as Obj[]

/**
 * The house rules every chart gets from the one wrapper (components/Chart.svelte), so a new page's
 * chart reads like the others without repeating them: the theme's palette; time axes and tooltips
 * in the app's one date format; tick labels that hide rather than overlap; axis names clear of the
 * legend; mark-line labels inside the plot (at the edge they were clipped, "ale" for "alert at").
 */
export function readable(option: ChartOption, dark: boolean): ChartOption {
  const o = { ...(option as Obj) }
  const ink = inkOf(dark)
  o.backgroundColor = 'transparent'
  o.color ??= [...seriesColors(dark)]
  const xAxes = list(o.xAxis).map((a) => axis(a, 'x'))
  const yAxes = list(o.yAxis).map((a) => axis(a, 'y'))
  if (o.xAxis) o.xAxis = Array.isArray(o.xAxis) ? xAxes : xAxes[0]
  if (o.yAxis) o.yAxis = Array.isArray(o.yAxis) ? yAxes : yAxes[0]
  // A legend on top and a y-axis name at the axis end share the band above the plot: make room.
  const legendOnTop = list(o.legend).some((l) => l.top !== undefined && l.bottom === undefined)
  const named = yAxes.some((a) => a.name && (a.nameLocation ?? 'end') === 'end')
  if (legendOnTop && named)
    o.grid = list(o.grid).map((g) => ({ ...g, top: Math.max(Number(g.top ?? 0), 52) }))[0]
  o.series = list(o.series).map((s) => (s.markLine ? { ...s, markLine: markLine(s.markLine as Obj) } : s))
  const timeX = xAxes.some((a) => a.type === 'time')
  const tip = o.tooltip as Obj | undefined
  if (tip && tip.trigger === 'axis' && timeX && !tip.formatter)
    o.tooltip = { ...tip, formatter: axisTooltip(tip) }
  o.textStyle ??= { color: ink.text }
  return o
}

function axis(a: Obj, dim: 'x' | 'y'): Obj {
  const label = (a.axisLabel as Obj | undefined) ?? {}
  const out: Obj = { ...a, axisLabel: { hideOverlap: true, ...label } }
  if (a.type === 'time') {
    // The end labels align inward: centred on the corner, the first ran into the y axis's lowest.
    const ends = dim === 'x' ? { alignMinLabel: 'left', alignMaxLabel: 'right' } : {}
    out.axisLabel = { hideOverlap: true, formatter: axisTime, ...ends, ...label }
    out.axisPointer = {
      ...(a.axisPointer as Obj),
      label: { formatter: (p: { value: number }) => localTime(p.value) },
    }
  }
  // The lowest y label sits above the x axis line: centred on it, it ran into the first time label.
  if (dim === 'y' && a.type === 'value' && !a.inverse)
    out.axisLabel = { verticalAlignMinLabel: 'bottom', ...(out.axisLabel as Obj) }
  if (!a.name || a.nameTextStyle || (a.nameLocation ?? 'end') !== 'end') return out
  // A y name at the axis end is centred on the axis line: aligned to it, it is not cut at the edge.
  // An x name at the end runs off the right edge: under the axis, centred, it has room.
  if (dim === 'y') out.nameTextStyle = { align: a.position === 'right' ? 'right' : 'left' }
  else Object.assign(out, { nameLocation: 'middle', nameGap: Number(a.nameGap ?? 26) })
  return out
}

function markLine(m: Obj): Obj {
  const label = (m.label as Obj | undefined) ?? {}
  return { ...m, label: { position: 'insideEndTop', ...label } }
}

type AxisParam = { marker: string; seriesName: string; value: unknown; axisValue: number | string }

/** The axis tooltip in the app's date format, with each value through the chart's own formatter. */
function axisTooltip(tip: Obj) {
  const format = (tip.valueFormatter as ((v: unknown) => string) | undefined) ?? ((v: unknown) => String(v))
  return (params: AxisParam | AxisParam[]) => {
    const rows = Array.isArray(params) ? params : [params]
    const first = rows[0]
    if (!first) return ''
    const head = escapeHtml(localTime(first.axisValue))
    const lines = rows.map((p) => {
      const v = Array.isArray(p.value) ? p.value[1] : p.value
      return `${p.marker}${escapeHtml(p.seriesName)}: <strong>${escapeHtml(format(v))}</strong>`
    })
    return [head, ...lines].join('<br>')
  }
}
