import { escapeHtml, localTime, STATUS_ICON } from './format.ts'

interface Stage {
  readonly name: string
  readonly status: string
  readonly at: string | null
  readonly system: string | null
  readonly replayId: string | null
  readonly traceId: string | null
}
interface Entry {
  readonly at: string
  readonly kind: 'event' | 'span' | 'exception' | 'replay'
  readonly system: string
  readonly name: string
  readonly traceId: string | null
}

/** Each kind of timeline entry has its own shape, so the lanes do not rely on colour alone. */
const KINDS = {
  event: { label: 'business event', symbol: 'circle' },
  span: { label: 'span', symbol: 'rect' },
  exception: { label: 'exception', symbol: 'triangle' },
  replay: { label: 'replay', symbol: 'diamond' },
} as const

/**
 * The stage track across systems over time, as ECharts options: one lane per system (in the order
 * the systems first took part), each stage marked where and when it was reached (a pin, labelled,
 * "↻" when a replay completed it), and every event, span, exception and replay of the timeline as
 * a point in its system's lane. A point's `traceId` opens its trace.
 */
export function swimlanes(l: { readonly stages: readonly Stage[]; readonly timeline: readonly Entry[] }) {
  const t = (iso: string) => Date.parse(iso)
  // Sync spans carry their connector, not a system: they share one lane.
  const lane = (system: string | null, kind?: Entry['kind']) =>
    system || (kind === 'span' || kind === undefined ? 'connectors' : '(unknown)')
  const now = Date.now()
  const ordered = [...l.timeline].sort((a, b) => t(a.at) - t(b.at))
  const lanes = [
    ...new Set([
      ...ordered.map((e) => lane(e.system, e.kind)),
      ...l.stages.flatMap((s) => (s.at ? [lane(s.system)] : [])),
    ]),
  ]
  const reached = l.stages.filter((s) => s.at !== null)
  // Where it is stuck: late, overdue-unconfirmed or failed stages, or else the next one to come.
  const next = l.stages.find((s) => s.at === null && s.status !== 'skipped')
  const troubled = l.stages.filter(
    (s) => s.status === 'late' || s.status === 'overdue' || s.status === 'failed',
  )
  const pending = troubled.length > 0 ? troubled : next ? [next] : []
  const end = (e: { max: number }) => (pending.length > 0 ? Math.max(e.max, now) : e.max)
  return {
    tooltip: { trigger: 'item' },
    legend: { top: 0, type: 'scroll' },
    // Below the legend with room for the first lane's pin heads.
    grid: { left: 130, right: 30, top: 48, bottom: 30 },
    // With a stage still to come the axis runs to now, where the dashed line names it.
    xAxis: {
      type: 'time',
      axisLabel: { hideOverlap: true },
      // Room on the right for the last stage's label, beside its pin.
      min: (e: { min: number; max: number }) => e.min - (end(e) - e.min) * 0.03,
      max: (e: { min: number; max: number }) => end(e) + (end(e) - e.min) * 0.2,
    },
    yAxis: { type: 'category', data: lanes, inverse: true },
    series: [
      {
        name: 'stage reached',
        type: 'scatter',
        symbol: 'pin',
        symbolSize: 30,
        z: 3,
        // Beside the pin's head, inside the plot; stages reached close together would print over
        // each other ("pinyentory reserved"), so one that collides is hidden (its stage is in the
        // track above and in the pin's tooltip).
        label: {
          show: true,
          position: 'right',
          offset: [0, -8],
          formatter: (p: { data: { stage: string } }) => p.data.stage,
        },
        labelLayout: { hideOverlap: true },
        tooltip: {
          formatter: (p: { data: { stage: string; status: string; value: [number, string] } }) =>
            escapeHtml(
              `${STATUS_ICON[p.data.status] ?? ''} ${p.data.stage}: ${p.data.status} in ${p.data.value[1]} at ${localTime(p.data.value[0])}`,
            ),
        },
        data: reached.map((s) => ({
          value: [t(s.at as string), lane(s.system)],
          stage: `${s.name.replaceAll('_', ' ')}${s.replayId ? ' ↻' : ''}`,
          status: s.replayId ? 'replayed' : s.status,
          traceId: s.traceId,
        })),
        // Named at now, on a dashed line: the stage it waits for, or the ones late or failed. The
        // name runs down from the top lane (the lanes are inverted, so the line's start is at the
        // top): the latest pins sit in the lower lanes, beside now, and their labels would cross it.
        markLine:
          pending.length > 0
            ? {
                symbol: 'none',
                label: {
                  formatter: `${pending.map((s) => `${STATUS_ICON[s.status] ?? ''} ${s.name.replaceAll('_', ' ')}: ${s.status}`).join('\n')}`,
                  position: 'insideStartTop',
                },
                lineStyle: { type: 'dashed' },
                data: [{ xAxis: now }],
              }
            : undefined,
      },
      ...(Object.keys(KINDS) as Array<keyof typeof KINDS>).map((kind) => ({
        name: KINDS[kind].label,
        type: 'scatter',
        symbol: KINDS[kind].symbol,
        symbolSize: 9,
        tooltip: {
          formatter: (p: { data: { name: string; value: [number, string] } }) =>
            escapeHtml(
              `${KINDS[kind].label} in ${p.data.value[1]}: ${p.data.name} at ${localTime(p.data.value[0])}`,
            ),
        },
        data: ordered
          .filter((e) => e.kind === kind)
          .map((e) => ({ value: [t(e.at), lane(e.system, e.kind)], name: e.name, traceId: e.traceId })),
      })),
    ],
  }
}
