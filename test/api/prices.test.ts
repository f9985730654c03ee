import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RuleOfKind, ruleValues } from '../../alerts/rules.ts'
import { loadFlows } from '../../core/flows.ts'
import { readingAs } from '../../core/reading.ts'
import type { Store } from '../../store/client.ts'
import { currentPriceConflicts } from '../../store/queries/prices.ts'
import { ok, typedApi } from '../support/api-client.ts'
import { startSignalbox, type TestSignalbox } from '../support/signalbox.ts'

let sb: TestSignalbox
beforeAll(async () => {
  sb = await startSignalbox()
  const res = await fetch(`${sb.collectorUrl}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents-batch+json' },
    body: JSON.stringify(events()),
  })
  expect(res.status).toBe(200)
})
afterAll(async () => {
  await sb?.close()
})

const MIN = 60_000
const t0 = Date.now() - 60 * MIN
const at = (offsetMs: number) => new Date(t0 + offsetMs).toISOString()
let n = 0
const ev = (
  type: string,
  sku: string,
  offsetMs: number,
  data: Record<string, unknown>,
  channel?: string,
) => ({
  specversion: '1.0',
  id: `price-${n++}`,
  source: 'urn:test:pricing',
  type,
  subject: sku,
  time: at(offsetMs),
  sku,
  ...(channel ? { channel } : {}),
  data,
})
const LIST = 'GB-RETAIL'
const changed = (sku: string, offsetMs: number, price: number) =>
  ev('retail.price.changed', sku, offsetMs, {
    sku,
    priceList: LIST,
    price,
    currency: 'GBP',
    effectiveAt: at(offsetMs),
  })
const published = (sku: string, channel: string, offsetMs: number, price: number, promotionId?: string) =>
  ev('retail.price.published', sku, offsetMs, { sku, priceList: LIST, price, promotionId }, channel)
const promotion = (
  type: 'started' | 'ended',
  sku: string,
  offsetMs: number,
  p: {
    promotionId: string
    channels: string[]
    kind: string
    value: number
    startsAt: number
    endsAt: number
  },
) =>
  ev(`retail.promotion.${type}`, sku, offsetMs, {
    ...p,
    skus: [sku],
    startsAt: at(p.startsAt),
    endsAt: at(p.endsAt),
  })
const CHANNELS = ['storefront', 'marketplace', 'pos']
const toAll = (sku: string, offsetMs: number, price: number) =>
  CHANNELS.map((c) => published(sku, c, offsetMs, price))

function events() {
  const summer = {
    promotionId: 'PROMO-SUMMER',
    channels: ['storefront', 'pos'],
    kind: 'percent',
    value: 25,
    startsAt: 5 * MIN,
    endsAt: 180 * MIN,
  }
  const flash = {
    promotionId: 'PROMO-FLASH',
    channels: ['storefront', 'marketplace'],
    kind: 'amount',
    value: 5,
    startsAt: MIN,
    endsAt: 30 * MIN,
  }
  return [
    // Every channel shows the price in force.
    changed('SKU-P-HEALTHY', 0, 100),
    ...toAll('SKU-P-HEALTHY', 1_000, 100),
    // The POS was never told this SKU's price.
    changed('SKU-P-NEVER', 0, 70),
    published('SKU-P-NEVER', 'storefront', 1_000, 70),
    published('SKU-P-NEVER', 'marketplace', 1_000, 70),
    // The marketplace keeps last week's price; three units sell there at it.
    changed('SKU-P-STALE', 0, 50),
    ...toAll('SKU-P-STALE', 1_000, 50),
    changed('SKU-P-STALE', 10 * MIN, 45),
    published('SKU-P-STALE', 'storefront', 10 * MIN + 2_000, 45),
    published('SKU-P-STALE', 'pos', 10 * MIN + 3_000, 45),
    ev('retail.order.created', 'SO-P-1', 20 * MIN, {
      channel: 'marketplace',
      lines: [{ sku: 'SKU-P-STALE', quantity: 3, unitPrice: 50 }],
    }),
    // The POS misses the summer promotion's start.
    changed('SKU-P-PROMO', 0, 80),
    ...toAll('SKU-P-PROMO', 1_000, 80),
    promotion('started', 'SKU-P-PROMO', 5 * MIN, summer),
    published('SKU-P-PROMO', 'storefront', 5 * MIN + 1_000, 60, 'PROMO-SUMMER'),
    // The flash sale ends at 30 minutes; the marketplace goes on discounting.
    changed('SKU-P-ENDED', 0, 20),
    published('SKU-P-ENDED', 'pos', 1_000, 20),
    promotion('started', 'SKU-P-ENDED', MIN, flash),
    published('SKU-P-ENDED', 'storefront', MIN + 1_000, 15, 'PROMO-FLASH'),
    published('SKU-P-ENDED', 'marketplace', MIN + 1_000, 15, 'PROMO-FLASH'),
    promotion('ended', 'SKU-P-ENDED', 30 * MIN, flash),
    published('SKU-P-ENDED', 'storefront', 30 * MIN + 1_000, 20),
  ]
}

const api = () => typedApi(sb.apiUrl)
const prices = async (sku: string) => {
  const body = await ok(api().prices[':sku'].$get({ param: { sku }, query: { priceList: LIST } }))
  const [list] = body.priceLists
  return { ...list, by: Object.fromEntries((list?.channels ?? []).map((c) => [c.channel, c])) }
}

describe('GET /api/prices/:sku', () => {
  it('finds no conflict where every channel shows the price in force', async () => {
    const p = await prices('SKU-P-HEALTHY')
    expect(p.sourceOfTruth?.price).toBe(100)
    expect(p.channels?.map((c) => c.channel)).toEqual(CHANNELS.slice().sort())
    for (const c of p.channels ?? [])
      expect(c).toMatchObject({ price: 100, upToDate: true, lagMs: 1_000, conflict: null })
  })

  it('finds a channel showing another price than the effective one past its deadline, with the revenue at risk', async () => {
    const p = await prices('SKU-P-STALE')
    expect(p.changes).toHaveLength(2)
    expect(p.by.storefront).toMatchObject({ price: 45, upToDate: true, lagMs: 2_000, conflict: null })
    expect(p.by.marketplace).toMatchObject({ price: 50, upToDate: false })
    expect(p.by.marketplace?.lagMs).toBeGreaterThan(45 * MIN)
    expect(p.by.marketplace?.conflict).toMatchObject({
      kind: 'price_mismatch',
      since: at(10 * MIN),
      shownPrice: 50,
      expectedPrice: 45,
      perUnit: 5,
      unitsSold: 3,
      revenueAtRisk: 15,
    })
  })

  it('finds a promotion live at the source but absent from a channel it targets', async () => {
    const p = await prices('SKU-P-PROMO')
    expect(p.sourceOfTruth).toMatchObject({ price: 80, promotions: ['PROMO-SUMMER'] })
    expect(p.by.storefront).toMatchObject({ price: 60, conflict: null })
    // Not targeted by the promotion: the marketplace is right at the full price.
    expect(p.by.marketplace).toMatchObject({ price: 80, conflict: null })
    expect(p.by.pos?.conflict).toMatchObject({
      kind: 'promotion_missing',
      since: at(5 * MIN),
      shownPrice: 80,
      expectedPrice: 60,
      promotionId: 'PROMO-SUMMER',
      perUnit: 20,
    })
  })

  it('finds a channel still discounting after the promotion ended', async () => {
    const p = await prices('SKU-P-ENDED')
    expect(p.sourceOfTruth).toMatchObject({ price: 20, promotions: [] })
    expect(p.by.storefront).toMatchObject({ price: 20, conflict: null })
    expect(p.by.pos).toMatchObject({ price: 20, conflict: null })
    expect(p.by.marketplace?.conflict).toMatchObject({
      kind: 'promotion_not_ended',
      since: at(30 * MIN),
      shownPrice: 15,
      expectedPrice: 20,
      promotionId: 'PROMO-FLASH',
    })
  })

  it('finds a channel the price list is published to that was never told the SKU’s price', async () => {
    const p = await prices('SKU-P-NEVER')
    expect(p.by.pos).toMatchObject({ price: null, toldAt: null, upToDate: false })
    expect(p.by.pos?.conflict).toMatchObject({
      kind: 'price_mismatch',
      since: at(0),
      shownPrice: null,
      expectedPrice: 70,
      perUnit: null,
      revenueAtRisk: null,
    })
  })

  it('answers 404 for a SKU with no price events', async () => {
    expect((await fetch(`${sb.apiUrl}/api/prices/SKU-NONE`)).status).toBe(404)
  })
})

describe('GET /api/prices/conflicts', () => {
  it('lists each SKU’s conflicts across channels, oldest first, and none for the healthy SKU', async () => {
    const body = await ok(api().prices.conflicts.$get({ query: {} }))
    expect(body.conflicts.map((c) => [c.sku, c.channel, c.kind])).toEqual([
      ['SKU-P-NEVER', 'pos', 'price_mismatch'],
      ['SKU-P-PROMO', 'pos', 'promotion_missing'],
      ['SKU-P-STALE', 'marketplace', 'price_mismatch'],
      ['SKU-P-ENDED', 'marketplace', 'promotion_not_ended'],
    ])
    expect(body.byKind).toEqual({ price_mismatch: 2, promotion_missing: 1, promotion_not_ended: 1 })
    expect(body.conflicts[2]).toMatchObject({ revenueAtRisk: 15 })
    const marketplace = await ok(api().prices.conflicts.$get({ query: { channel: 'marketplace' } }))
    expect(marketplace.conflicts.map((c) => c.sku)).toEqual(['SKU-P-STALE', 'SKU-P-ENDED'])
  })

  it('works the conflicts out once for callers at the same time: each reads every SKU', async () => {
    let queries = 0
    const counted: Store = {
      ...sb.store,
      query: (q, o) => {
        queries++
        return sb.store.query(q, o)
      },
    }
    const now = Date.now()
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => currentPriceConflicts(counted, now + i, 60 * MIN)),
    )
    expect(queries).toBe(3) // the latest prices, publications and promotions, once
    for (const a of answers) expect(a).toEqual(answers[0])
    // A caller after them works them out again: nothing written since is missed.
    await currentPriceConflicts(counted, Date.now(), 60 * MIN)
    expect(queries).toBe(6)
  })

  it('finishes them for the callers who joined when the one who started them goes away', async () => {
    const now = Date.now()
    const gone = new AbortController()
    const started = readingAs('token a', gone.signal, () => currentPriceConflicts(sb.store, now, 60 * MIN))
    const joined = readingAs('alert rule', undefined, () => currentPriceConflicts(sb.store, now, 60 * MIN))
    gone.abort()
    const [mine, theirs] = await Promise.allSettled([started, joined])
    expect(theirs).toMatchObject({ status: 'fulfilled' })
    expect(mine).toEqual(theirs)
  })
})

describe('the price_conflicts alert rule', () => {
  it('counts the same conflicts per channel and kind, over the threshold', async () => {
    const flows = loadFlows(join(import.meta.dirname, '../../config'))
    const rule = { kind: 'price_conflicts', settings: { above: 0 } } as RuleOfKind
    const values = await ruleValues({ store: sb.store, flows }, rule, new Date())
    expect(values.map((v) => [v.labels.channel, v.labels.conflict, v.value, v.over]).sort()).toEqual([
      ['marketplace', 'price_mismatch', 1, true],
      ['marketplace', 'promotion_not_ended', 1, true],
      ['pos', 'price_mismatch', 1, true],
      ['pos', 'promotion_missing', 1, true],
    ])
    const onlyMissing = {
      kind: 'price_conflicts',
      settings: { above: 0, kinds: ['promotion_missing'] },
    } as RuleOfKind
    expect(
      (await ruleValues({ store: sb.store, flows }, onlyMissing, new Date())).map((v) => v.labels.channel),
    ).toEqual(['pos'])
  })
})
