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
