import { flushSync, mount, unmount } from 'svelte'
import { afterEach, describe, expect, it } from 'vitest'
import StageTrack from '../../web/src/components/StageTrack.svelte'
import Waterfall from '../../web/src/components/Waterfall.svelte'
import TimeRangeHarness from './TimeRangeHarness.svelte'

let mounted: Record<string, unknown> | undefined
afterEach(() => {
  if (mounted) unmount(mounted)
  mounted = undefined
  document.body.innerHTML = ''
})

const stage = (name: string, status: string, extra: Record<string, unknown> = {}) => ({
  name,
  status,
  at: status === 'done' ? '2026-11-26T10:00:00.000000000Z' : null,
  system: status === 'done' ? 'erp' : null,
  delayMs: status === 'done' ? 90_000 : null,
  outOfOrder: false,
  occurrences: status === 'done' ? 1 : 0,
  replayId: null,
  ...extra,
})

describe('StageTrack', () => {
  it('shows each stage with its status in words and an icon, and marks replays, repeats and disorder', () => {
    mounted = mount(StageTrack, {
      target: document.body,
      props: {
        stages: [
          stage('captured', 'done'),
          stage('erp_posted', 'done', { replayId: 'rp-1', occurrences: 2, outOfOrder: true }),
          stage('fulfilled', 'late'),
        ],
      },
    })
    const items = [...document.querySelectorAll('[data-testid="stage"]')]
    expect(items.map((i) => i.getAttribute('data-status'))).toEqual(['done', 'done', 'late'])
    expect(items[0]?.textContent).toContain('✓')
    expect(items[0]?.textContent).toContain('+1.5 min')
    expect(items[1]?.textContent).toContain('replayed')
    expect(items[1]?.textContent).toContain('reported 2×')
    expect(items[1]?.textContent).toContain('out of order')
    expect(items[2]?.textContent).toContain('◷')
    expect(items[2]?.textContent).toContain('late')
  })

  it('says a stage passed over while a later one was reached is not confirmed, apart from reached and to come', () => {
    mounted = mount(StageTrack, {
      target: document.body,
      props: {
        stages: [
          stage('fulfilled', 'done'),
          stage('delivered', 'overdue'),
          stage('invoiced', 'done'),
          stage('closed', 'unconfirmed'),
          stage('archived', 'pending'),
        ],
      },
    })
    const items = [...document.querySelectorAll('[data-testid="stage"]')]
    const text = (i: number) => items[i]?.querySelector('.status')?.textContent
    expect(text(1)).toBe('overdue: not confirmed, though a later stage was reached')
    expect(text(3)).toBe('not confirmed, though a later stage was reached')
    expect(text(4)).toBe('pending')
    expect(items[1]?.textContent).toContain('⚠')
    expect(items[3]?.textContent).toContain('◌')
    // Coloured apart: the classes the stylesheet colours (warn, bad, dashed), not done's or pending's.
    expect(items.map((i) => i.className)).toEqual([
      'stage done',
      'stage overdue',
      'stage done',
      'stage unconfirmed',
      'stage pending',
    ])
  })
})

describe('Waterfall', () => {
  const span = (spanId: string, depth: number, offsetNs: string, durationNs: string, extra = {}) => ({
    spanId,
    name: `op ${spanId}`,
    service: 'erp',
    offsetNs,
    durationNs,
    depth,
    critical: false,
    status: { code: 'ok', message: '' },
    attributes: { 'integration.system': 'erp' },
    events: [],
    ...extra,
  })

  it('places bars by offset and duration, indents by depth, and opens a span to its details', () => {
    mounted = mount(Waterfall, {
      target: document.body,
      props: {
        totalNs: '1000000',
        spans: [
          span('a', 0, '0', '1000000', { critical: true }),
          span('b', 1, '250000', '500000', { status: { code: 'error', message: 'ERP answered 503' } }),
        ],
      },
    })
    const bars = [...document.querySelectorAll<HTMLElement>('.bar')]
    expect(
      bars.map((b) => [b.style.left, b.classList.contains('critical'), b.classList.contains('error')]),
    ).toEqual([
      ['0%', true, false],
      ['25%', false, true],
    ])
    const labels = [...document.querySelectorAll<HTMLButtonElement>('button.label')]
    expect(labels[1]?.style.paddingLeft).toBe('18px')
    expect(document.querySelector('[data-testid="span-details"]')).toBeNull()
    labels[1]?.click()
    flushSync()
    const details = document.querySelector('[data-testid="span-details"]')
    expect(details?.textContent).toContain('ERP answered 503')
    expect(details?.textContent).toContain('integration.system')
  })

  it('draws children under their parents whatever the order they arrive in, with a time ruler', () => {
    mounted = mount(Waterfall, {
      target: document.body,
      props: {
        totalNs: '40000000',
        // The child began in the same nanosecond as its parent and came first from the api.
        spans: [
          span('child', 1, '0', '30000000', { parentSpanId: 'root' }),
          span('late', 1, '30000000', '10000000', {
            parentSpanId: 'root',
            critical: true,
            criticalStretches: [{ offsetNs: '30000000', durationNs: '10000000' }],
          }),
          span('root', 0, '0', '40000000', { critical: true }),
          span('grandchild', 2, '1000000', '5000000', { parentSpanId: 'child' }),
        ],
      },
    })
    const rows = [...document.querySelectorAll('[data-testid="span-row"]')]
    expect(rows.map((r) => r.textContent?.match(/op (\w+)/)?.[1])).toEqual([
      'root',
      'child',
      'grandchild',
      'late',
    ])
    expect(rows.map((r) => r.getAttribute('data-critical'))).toEqual(['true', 'false', 'false', 'true'])
    // Only the stretch the api put on the path is solid: the last quarter, in the late span's row.
    const stretches = [...document.querySelectorAll<HTMLElement>('.stretch')]
    expect(
      stretches.map((st) => [st.closest('[data-testid="span-row"]') === rows[3], st.style.left]),
    ).toEqual([[true, '75%']])
    const ticks = [...document.querySelectorAll('[data-testid="ruler"] .tick')].map((t) => t.textContent)
    expect(ticks).toEqual(['0', '10 ms', '20 ms', '30 ms', '40 ms'])
  })
})

describe('TimeRange', () => {
  it('offers the presets and a custom range, and sets the range from a preset', () => {
    mounted = mount(TimeRangeHarness, { target: document.body })
    const select = document.querySelector<HTMLSelectElement>(
      '[data-testid="range-preset"]',
    ) as HTMLSelectElement
    expect([...select.options].map((o) => o.textContent)).toEqual([
      'Last 1 h',
      'Last 6 h',
      'Last 24 h',
      'Last 7 d',
      'Custom…',
    ])
    select.value = String(6 * 3_600_000)
    select.dispatchEvent(new Event('change', { bubbles: true }))
    flushSync()
    const [from = '', to = ''] = (document.querySelector('[data-testid="range"]')?.textContent ?? '').split(
      '|',
    )
    const span = new Date(to).getTime() - new Date(from).getTime()
    expect(span).toBe(6 * 3_600_000)
  })
})
