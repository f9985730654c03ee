// Only the charts and components Signalbox draws: the bundle carries nothing else of ECharts.
import { BarChart, GraphChart, HeatmapChart, LineChart, ScatterChart } from 'echarts/charts'
import {
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TooltipComponent,
  VisualMapComponent,
} from 'echarts/components'
import * as echarts from 'echarts/core'
// Without it `labelLayout` (hideOverlap on stage pins, system names) is silently ignored.
import { LabelLayout } from 'echarts/features'
import { SVGRenderer } from 'echarts/renderers'

echarts.use([
  LineChart,
  BarChart,
  GraphChart,
  HeatmapChart,
  ScatterChart,
  GridComponent,
  MarkLineComponent,
  LegendComponent,
  TooltipComponent,
  VisualMapComponent,
  SVGRenderer,
  LabelLayout,
])

export { echarts }
export type ChartOption = echarts.EChartsCoreOption

/** A vertical line on a chart: at a time (time axis) or a category index (category axis). */
export interface ChartMarker {
  readonly at: string | number
  readonly label: string
}

/**
 * The option with the markers drawn as one extra series holding only a markLine, so the chart's own
 * series (and their point tables) stay as they are. Without markers, the option unchanged.
 */
export function withMarkers(option: ChartOption, markers: readonly ChartMarker[]): ChartOption {
  if (markers.length === 0) return option
  const series = Array.isArray(option.series) ? option.series : option.series ? [option.series] : []
  return {
    ...option,
    series: [
      ...series,
      {
        name: 'changes',
        type: 'line',
        data: [],
        markLine: {
          silent: true,
          symbol: 'none',
          lineStyle: { type: 'dashed', color: '#8a63d2' },
          label: { formatter: '{b}', position: 'insideEndTop', fontSize: 10 },
          data: markers.map((m) => ({ xAxis: m.at, name: m.label })),
        },
      },
    ],
  }
}
