import { describe, expect, it } from 'vitest'
import { auditDiff } from '../../api/replay/replay.ts'

/* The audit's record of an edited payload: RFC 6902 operations from the stored payload to the edit. */

describe("a replay's payload diff", () => {
  it('lists the fields an edit changed', () => {
    const stored = { orderId: 'A-1', lines: [{ sku: 'S', quantity: 1 }] }
    const edited = { orderId: 'A-1', lines: [{ sku: 'S', quantity: 2 }] }
    expect(auditDiff(stored, stored, edited)).toEqual([
      { op: 'replace', path: '/lines/0/quantity', value: 2 },
    ])
  })

  it('replaces the whole document when either side is not an object: null, a string, a number', () => {
    expect(auditDiff({ a: 1 }, { a: 1 }, null)).toEqual([{ op: 'replace', path: '', value: null }])
    expect(auditDiff('SKU-1', 'SKU-1', 'SKU-2')).toEqual([{ op: 'replace', path: '', value: 'SKU-2' }])
    expect(auditDiff(7, 7, { sku: 'S' })).toEqual([{ op: 'replace', path: '', value: { sku: 'S' } }])
    expect(auditDiff('same', 'same', 'same')).toEqual([])
  })
})
