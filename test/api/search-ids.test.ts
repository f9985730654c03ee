import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sendEvents } from '../support/events.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'
import { until } from '../support/until.ts'

// The search box as people type into it: lower case, or just the number on the receipt.
let sb: TestSignalbox
beforeAll(async () => {
  sb = await startSignalbox()
  const at = Date.now() - 60_000
  await sendEvents(
    sb.collectorUrl,
    ['SO-7042', 'SO-17042', 'SO-007043'].map((id, i) => ({
      specversion: '1.0',
      id: `search-${i}`,
      source: 'urn:test',
      type: 'retail.order.created',
      subject: id,
      time: new Date(at + i).toISOString(),
      data: { channel: 'web' },
    })),
  )
})
afterAll(async () => {
  await sb?.close()
})

const search = async (q: string) => {
  const res = await fetch(`${sb.apiUrl}/api/search?q=${encodeURIComponent(q)}`)
  expect(res.status).toBe(200)
  return ((await res.json()) as { results: Array<{ kind: string; id: string }> }).results
    .map((r) => r.id)
    .sort()
}

describe('GET /api/search', () => {
  it('finds an order id typed in lower case', async () => {
    expect(
      await until(
        () => search('so-7042'),
        (ids) => ids.length > 0,
        { what: 'the order indexed' },
      ),
    ).toEqual(['SO-7042'])
  })

  it('finds an order by the bare number on its id, and not another number that ends alike', async () => {
    expect(await search('7042')).toEqual(['SO-7042'])
    // Leading zeros in the id or in what was typed make no difference.
    expect(await search('7043')).toEqual(['SO-007043'])
    expect(await search('07042')).toEqual(['SO-7042'])
  })

  it('still answers an id prefix as typed first', async () => {
    expect(await search('SO-1704')).toEqual(['SO-17042'])
  })
})
