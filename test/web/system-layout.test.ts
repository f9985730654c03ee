import { describe, expect, it } from 'vitest'
import { columns } from '../../web/src/lib/system-layout.ts'

const call = (source: string, target: string) => ({ source, target })

describe('the system map layout', () => {
  it('puts callers left of the systems they call, by the longest chain of calls', () => {
    const placed = columns(
      ['storefront', 'order-to-cash', 'oms', 'erp', 'payment', 'wms'],
      [
        call('storefront', 'payment'),
        call('order-to-cash', 'oms'),
        call('order-to-cash', 'erp'),
        call('oms', 'erp'),
        call('erp', 'wms'),
      ],
    )
    const col = (id: string) => placed.get(id)?.column
    expect([col('storefront'), col('order-to-cash')]).toEqual([0, 0])
    expect(col('payment')).toBe(1)
    expect(col('oms')).toBe(1)
    // erp is called straight from the connector and through oms: it stands right of oms.
    expect(col('erp')).toBe(2)
    expect(col('wms')).toBe(3)
    for (const [from, to] of [
      ['storefront', 'payment'],
      ['oms', 'erp'],
      ['erp', 'wms'],
    ] as const)
      expect(col(from) ?? 0).toBeLessThan(col(to) ?? 0)
  })

  it('gives every system of a cycle one column, and each system in a column its own row', () => {
    const placed = columns(['a', 'b', 'c', 'lonely'], [call('a', 'b'), call('b', 'c'), call('c', 'b')])
    expect(placed.get('a')?.column).toBe(0)
    expect(placed.get('b')?.column).toBe(1)
    expect(placed.get('c')?.column).toBe(2)
    const first = [...placed.values()].filter((p) => p.column === 0)
    expect(first.map((p) => p.row).sort()).toEqual([0, 1])
    expect(first.every((p) => p.rows === 2)).toBe(true)
  })
})
