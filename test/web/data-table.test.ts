import { flushSync, mount, unmount } from 'svelte'
import { afterEach, describe, expect, it } from 'vitest'
import { labelCells } from '../../web/src/lib/cell-labels.ts'
import DataTableHarness from './DataTableHarness.svelte'

let mounted: Record<string, unknown> | undefined
afterEach(() => {
  if (mounted) unmount(mounted)
  mounted = undefined
  document.body.innerHTML = ''
})

const rows = [
  { id: 'erp-sync', errors: 3, note: 'ERP answered 503 for every posting since the maintenance began' },
  { id: 'pos-bridge', errors: 12, note: null },
  { id: 'marketplace', errors: 0, note: 'quiet' },
]
const shown = () => [...document.querySelectorAll('tbody tr')].map((r) => r.querySelector('td')?.textContent)
const heading = (label: string) =>
  [...document.querySelectorAll('th')].find((th) => th.textContent?.startsWith(label)) as HTMLElement
const click = (label: string) => {
  heading(label).querySelector('button')?.click()
  flushSync()
}

describe('DataTable', () => {
  it("keeps the page's order until a heading is clicked, then sorts by that column both ways", () => {
    mounted = mount(DataTableHarness, { target: document.body, props: { rows } })
    expect(shown()).toEqual(['erp-sync', 'pos-bridge', 'marketplace'])
    expect(document.querySelector('th[aria-sort]')).toBeNull()

    click('connector')
    expect(shown()).toEqual(['erp-sync', 'marketplace', 'pos-bridge'])
    expect(heading('connector').getAttribute('aria-sort')).toBe('ascending')
    click('connector')
    expect(shown()).toEqual(['pos-bridge', 'marketplace', 'erp-sync'])
    expect(heading('connector').getAttribute('aria-sort')).toBe('descending')
  })

  it('sorts a numeric column largest first on the first click, and rows without a value last', () => {
    mounted = mount(DataTableHarness, { target: document.body, props: { rows } })
    click('errors')
    expect(shown()).toEqual(['pos-bridge', 'erp-sync', 'marketplace'])
    expect(heading('errors').getAttribute('aria-sort')).toBe('descending')
    expect(heading('connector').getAttribute('aria-sort')).toBeNull()
    click('note')
    expect(shown()).toEqual(['erp-sync', 'marketplace', 'pos-bridge'])
    click('note')
    expect(shown().at(-1)).toBe('pos-bridge')
  })

  it('starts sorted when the page asks, and a column without a sort has no button', () => {
    mounted = mount(DataTableHarness, { target: document.body, props: { rows, sortBy: 1, descending: true } })
    expect(shown()).toEqual(['pos-bridge', 'erp-sync', 'marketplace'])
    expect(heading('actions').querySelector('button')).toBeNull()
    expect(heading('actions').getAttribute('aria-sort')).toBeNull()
  })

  it('names the table, keeps its header in a scrolling box, and labels and aligns each cell by its column', () => {
    mounted = mount(DataTableHarness, { target: document.body, props: { rows } })
    const table = document.querySelector('[data-testid="connectors"]') as HTMLTableElement
    expect(table.getAttribute('aria-label')).toBe('Connectors')
    expect((table.parentElement as HTMLElement).style.maxHeight).toBe('10rem')
    const truncated = table.querySelector('td.truncate')
    expect(truncated?.getAttribute('title')).toBe(rows[0]?.note)

    labelCells(document.body)
    const first = [...table.querySelectorAll('tbody tr:first-child td')]
    // The sort arrow is hidden from readers, so it is not part of the label.
    expect(first.map((td) => td.getAttribute('data-label'))).toEqual([
      'connector',
      'errors',
      'note',
      'actions',
    ])
    expect(first.map((td) => td.classList.contains('numeric'))).toEqual([false, true, false, false])
  })
})
