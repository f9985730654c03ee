import { describe, expect, it } from 'vitest'
import { swimlanes } from '../../web/src/lib/swimlanes.ts'

const stage = (
  name: string,
  status: string,
  at: string | null,
  system: string | null,
  replayId: string | null = null,
) => ({
  name,
  status,
  at,
  system,
  replayId,
  traceId: at ? 'a'.repeat(32) : null,
})

const lifecycle = {
  stages: [
    stage('captured', 'done', '2026-11-26T10:00:00.000000000Z', 'storefront'),
    stage('payment_authorized', 'done', '2026-11-26T10:01:00.000000000Z', 'payment'),
    stage('erp_posted', 'done', '2026-11-26T10:40:00.000000000Z', 'erp', 'rpl_1'),
    stage('fulfilled', 'late', null, null),
    stage('delivered', 'pending', null, null),
  ],
  timeline: [
    {
      at: '2026-11-26T10:01:00.000000000Z',
      kind: 'event' as const,
      system: 'payment',
      name: 'retail.order.payment_authorized',
      traceId: null,
    },
    {
      at: '2026-11-26T10:00:00.000000000Z',
      kind: 'event' as const,
      system: 'storefront',
      name: 'retail.order.created',
      traceId: null,
    },
    {
      at: '2026-11-26T10:05:00.000000000Z',
      kind: 'span' as const,
      system: 'erp',
      name: 'POST /sales-orders',
      traceId: 'b'.repeat(32),
    },
    {
      at: '2026-11-26T10:06:00.000000000Z',
      kind: 'exception' as const,
      system: 'erp',
      name: 'erp.http_503',
      traceId: 'b'.repeat(32),
    },
    {
      at: '2026-11-26T10:39:00.000000000Z',
      kind: 'replay' as const,
      system: 'order-to-cash',
      name: 'replay post_sales_order',
      traceId: 'c'.repeat(32),
    },
  ],
}

describe('swimlanes', () => {
  const option = swimlanes(lifecycle)
  const series = option.series as unknown as Array<{
    name: string
    symbol: string
    data: Array<{ value: [number, string]; stage?: string; status?: string; traceId?: string | null }>
    markLine?: { label: { formatter: string } }
  }>

  it('gives each system a lane, in the order the systems first took part', () => {
    expect(option.yAxis.data).toEqual(['storefront', 'payment', 'erp', 'order-to-cash'])
  })

  it('pins each reached stage in its system at its time, marking the one a replay completed', () => {
    const pins = series.find((s) => s.name === 'stage reached')
    expect(
      pins?.data.map((d) => [d.stage, d.value[1], new Date(d.value[0]).toISOString(), d.status]),
    ).toEqual([
      ['captured', 'storefront', '2026-11-26T10:00:00.000Z', 'done'],
      ['payment authorized', 'payment', '2026-11-26T10:01:00.000Z', 'done'],
      ['erp posted ↻', 'erp', '2026-11-26T10:40:00.000Z', 'replayed'],
    ])
    // Where it is stuck, in words: the late stage, not every stage still to come.
    expect(pins?.markLine?.label.formatter).toBe('◷ fulfilled: late')
  })

  it('draws every timeline entry in its lane with a shape per kind, keeping its trace', () => {
    const shapes = Object.fromEntries(series.slice(1).map((s) => [s.name, [s.symbol, s.data.length]]))
    expect(shapes).toEqual({
      'business event': ['circle', 2],
      span: ['rect', 1],
      exception: ['triangle', 1],
      replay: ['diamond', 1],
    })
    expect(series.find((s) => s.name === 'exception')?.data[0]).toMatchObject({
      value: [Date.parse('2026-11-26T10:06:00Z'), 'erp'],
      traceId: 'b'.repeat(32),
    })
  })

  it('writes what telemetry named into its tooltips as text, never as markup', () => {
    const hostile = '<style>body{display:none}</style><b id=pwn>x</b>'
    const option = swimlanes({
      stages: [stage('captured', 'done', '2026-11-26T10:00:00.000000000Z', hostile)],
      timeline: [
        {
          at: '2026-11-26T10:06:00.000000000Z',
          kind: 'exception' as const,
          system: hostile,
          name: hostile,
          traceId: null,
        },
      ],
    })
    type Tip = { tooltip?: { formatter?: (p: unknown) => string }; data: Array<Record<string, unknown>> }
    const tips = (option.series as unknown as Tip[])
      .filter((s) => s.data.length > 0 && typeof s.tooltip?.formatter === 'function')
      .map((s) => s.tooltip?.formatter?.({ data: s.data[0] }) ?? '')
    expect(tips.length).toBeGreaterThanOrEqual(2)
    for (const tip of tips) {
      expect(tip).not.toContain('<')
      expect(tip).toContain('&lt;b id=pwn&gt;')
    }
  })
})
