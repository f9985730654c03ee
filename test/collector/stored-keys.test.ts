import { describe, expect, it } from 'vitest'
import { type RowKey, StoredKeyLookup } from '../../collector/stored-keys.ts'

const key = (id: string): RowKey => ({ id, timeNs: 0n })

/** A store whose reads the test answers by hand, to order them against writes. */
function manualStore(stored: Set<string>) {
  const reads: Array<{ keys: readonly RowKey[]; answer: () => void }> = []
  const lookup = new StoredKeyLookup(
    (keys) =>
      new Promise((resolve) => {
        // The store's state when the read runs, not when it is answered.
        const found = new Set(keys.map((k) => k.id).filter((id) => stored.has(id)))
        reads.push({ keys, answer: () => resolve(found) })
      }),
  )
  return { lookup, reads }
}

describe('stored key lookup', () => {
  it('reports keys the store holds', async () => {
    const { lookup, reads } = manualStore(new Set(['a']))
    const pending = lookup.lookup([key('a'), key('b')])
    reads[0]?.answer()
    const stored = await pending
    expect([stored.has('a'), stored.has('b')]).toEqual([true, false])
  })

  it('reports keys of a batch written after the lookup read the store', async () => {
    const { lookup, reads } = manualStore(new Set())
    const pending = lookup.lookup([key('x'), key('y')])
    reads[0]?.answer() // the read saw nothing…
    lookup.recordWritten(new Set(['x'])) // …then a batch holding x was written
    const stored = await pending
    expect([stored.has('x'), stored.has('y')]).toEqual([true, false])
  })

  it('shares one read among requests arriving while a read runs', async () => {
    const { lookup, reads } = manualStore(new Set(['c']))
    const first = lookup.lookup([key('a')])
    const second = lookup.lookup([key('b')])
    const third = lookup.lookup([key('c')])
    expect(reads).toHaveLength(1)
    reads[0]?.answer()
    await first
    expect(reads).toHaveLength(2)
    expect(reads[1]?.keys.map((k) => k.id)).toEqual(['b', 'c'])
    reads[1]?.answer()
    expect((await third).has('c')).toBe(true)
    expect((await second).has('b')).toBe(false)
  })

  it('holds written batches only while a lookup that did not see them is open', async () => {
    const { lookup, reads } = manualStore(new Set())
    lookup.recordWritten(new Set(['before'])) // no lookup open: nothing to hold
    expect(lookup.batchesHeld).toBe(0)
    const pending = lookup.lookup([key('k')])
    reads[0]?.answer()
    const stored = await pending
    lookup.recordWritten(new Set(['one']))
    lookup.recordWritten(new Set(['two']))
    expect(lookup.batchesHeld).toBe(2)
    expect(stored.has('two')).toBe(true)
    stored.release()
    expect(lookup.batchesHeld).toBe(0)
  })

  it('keeps a key written again by a later batch for the lookups that did not see that batch', async () => {
    const { lookup, reads } = manualStore(new Set())
    const early = lookup.lookup([key('k')])
    reads[0]?.answer()
    const first = await early
    lookup.recordWritten(new Set(['k', 'once'])) // batch 1, unseen by the early lookup
    const late = lookup.lookup([key('k')])
    reads[1]?.answer()
    const second = await late
    lookup.recordWritten(new Set(['k'])) // batch 2, unseen by both
    expect([first.has('k'), first.has('once'), second.has('k'), second.has('once')]).toEqual([
      true,
      true,
      true,
      false, // batch 1 was written before the late lookup read the store: its read answers for it
    ])
    first.release() // batch 1 is dropped; k stays, as batch 2 wrote it too
    expect(lookup.batchesHeld).toBe(1)
    expect(second.has('k')).toBe(true)
    second.release()
    expect(lookup.batchesHeld).toBe(0)
  })

  it('fails the requests of a failed read, and the next read still runs', async () => {
    let fail = true
    const lookup = new StoredKeyLookup(async () => {
      if (fail) throw new Error('store down')
      return new Set<string>()
    })
    await expect(lookup.lookup([key('a')])).rejects.toThrow('store down')
    fail = false
    expect((await lookup.lookup([key('a')])).has('a')).toBe(false)
  })
})
