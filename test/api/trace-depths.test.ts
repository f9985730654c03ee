import { describe, expect, it } from 'vitest'
import { depths } from '../../api/routes/traces.ts'

/* A span's depth in the waterfall: how many of the trace's spans are above it. */

const span = (id: string, parent = '') => ({ span_id: id, parent_span_id: parent })

describe('span depths', () => {
  it('counts the ancestors present; a missing parent or a cycle ends the walk', () => {
    const d = depths([
      span('c', 'b'),
      span('b', 'a'),
      span('a'),
      span('orphan', 'gone'),
      span('x', 'y'),
      span('y', 'x'),
    ])
    expect(Object.fromEntries(d)).toEqual({ a: 0, b: 1, c: 2, orphan: 0, x: 1, y: 0 })
  })

  it('walks a chain of 50,000 spans listed child first without running out of stack', () => {
    const n = 50_000
    const chain = Array.from({ length: n }, (_, i) => span(`s${n - i}`, i === n - 1 ? '' : `s${n - i - 1}`))
    const d = depths(chain)
    expect(d.get('s1')).toBe(0)
    expect(d.get(`s${n}`)).toBe(n - 1)
  })
})
