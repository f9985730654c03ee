import { describe, expect, it } from 'vitest'
import { BusinessKeyFinder } from '../../collector/keys.ts'
import type { Attributes } from '../../collector/otlp/model.ts'
import type { EntityKeyAliases } from '../../core/entity-keys.ts'
import { PayloadTooLargeError } from '../../core/errors.ts'
import { INTEGRATION_ATTRIBUTES } from '../../core/vocabulary.ts'

/*
 * The finder reads a span's own attributes once and ranks the names it knows. What it must give is
 * what asking for each alias in order gives: the first alias set and not empty, else the resource's;
 * an integration field set on the span even to '' wins over the resource's.
 */

const ALIASES = {
  order: ['retail.order.id', 'order.id', 'orderId'],
  return: ['retail.return.id', 'rma.id'],
  sku: ['retail.sku', 'sku'],
  shipment: ['retail.shipment.id'],
  location: ['retail.location.id', 'store.id'],
  // A name that is an alias of two types, and an integration attribute listed as an alias.
  purchase_order: ['po.number', 'order.id', INTEGRATION_ATTRIBUTES.system],
} as unknown as EntityKeyAliases

/** The rule as it reads: each alias asked for by name, in order. */
function reference(attrs: Attributes, resource: Attributes) {
  const first = (names: readonly string[], from: Attributes) =>
    names.map((n) => from[n]).find((v) => v !== undefined && v !== '')
  const entities: Array<[string, string]> = []
  for (const type of Object.keys(ALIASES).filter((k) => k !== 'location')) {
    const names = ALIASES[type] ?? []
    const value = first(names, attrs) ?? first(names, resource)
    if (value === undefined) continue
    const ids = value.startsWith('[') ? (JSON.parse(value) as string[]) : [value]
    for (const id of ids) if (id !== '') entities.push([type, String(id)])
  }
  const field = (name: string, fallback: string) => attrs[name] ?? fallback
  return {
    entities,
    location: first(ALIASES.location, attrs) ?? first(ALIASES.location, resource) ?? '',
    connector: field(INTEGRATION_ATTRIBUTES.connector, resource[INTEGRATION_ATTRIBUTES.connector] ?? ''),
    flow: field(INTEGRATION_ATTRIBUTES.flow, resource[INTEGRATION_ATTRIBUTES.flow] ?? ''),
    system: field(INTEGRATION_ATTRIBUTES.system, resource[INTEGRATION_ATTRIBUTES.system] ?? ''),
    stage: attrs[INTEGRATION_ATTRIBUTES.stage] ?? '',
  }
}

describe('business keys on a span', () => {
  it('takes the first alias that is set and not empty, else the resource', () => {
    const keys = new BusinessKeyFinder(ALIASES)
    const resource = { 'retail.location.id': 'DC-1', [INTEGRATION_ATTRIBUTES.connector]: 'oms-sync' }
    // Listed after the canonical name in the request, and an empty canonical value: rank decides.
    const found = keys.find(
      { orderId: 'SO-3', 'retail.order.id': '', 'order.id': 'SO-2', sku: '["A","B"]' },
      resource,
    )
    expect(found.entities).toEqual([
      ['order', 'SO-2'],
      ['sku', 'A'],
      ['sku', 'B'],
      ['purchase_order', 'SO-2'],
    ])
    expect(found.location).toBe('DC-1')
    expect(found.connector).toBe('oms-sync')
    // An integration field set to '' on the span is the span's answer.
    expect(keys.find({ [INTEGRATION_ATTRIBUTES.connector]: '' }, resource).connector).toBe('')
  })

  it('answers as asking alias by alias does, on many mixes of names, values and resources', () => {
    const names = [
      ...new Set(Object.values(ALIASES).flat()),
      ...Object.values(INTEGRATION_ATTRIBUTES),
      'http.route',
      'url.full',
    ]
    const values = ['', 'X-1', 'Y-2', '["S-1","S-2"]', '[]']
    let seed = 7
    const rand = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
      return seed % n
    }
    const pick = (): Attributes => {
      const attrs: Attributes = {}
      for (let i = rand(8); i > 0; i--)
        attrs[names[rand(names.length)] as string] = values[rand(values.length)] as string
      return attrs
    }
    const resources = Array.from({ length: 5 }, pick)
    const keys = new BusinessKeyFinder(ALIASES)
    for (let i = 0; i < 5_000; i++) {
      const attrs = pick()
      const resource = resources[rand(resources.length)] as Attributes
      expect(keys.find(attrs, resource)).toEqual(reference(attrs, resource))
    }
  })

  it("reads a resource's list of ids once: the spans under it share its pairs", () => {
    const keys = new BusinessKeyFinder(ALIASES)
    const resource = { 'retail.sku': JSON.stringify(['A', 'B', 'C']) }
    const withOrder = keys.find({ 'retail.order.id': 'o1' }, resource)
    const alone = keys.find({}, resource)
    expect(alone.entities).toEqual([
      ['sku', 'A'],
      ['sku', 'B'],
      ['sku', 'C'],
    ])
    expect(withOrder.entities.find(([type]) => type === 'sku')).toBe(alone.entities[0])
  })

  it('refuses (413) the item whose keys take the request past its budget, not after', () => {
    // Each pair costs its index row (64 bytes) and its text: 50 SKUs under a resource are about 3.6 KB a span.
    const keys = new BusinessKeyFinder(ALIASES, 10_000)
    const resource = { 'retail.sku': JSON.stringify(Array.from({ length: 50 }, (_, i) => `SKU-${i}`)) }
    keys.find({}, resource)
    keys.find({}, resource)
    expect(() => keys.find({}, resource)).toThrow(PayloadTooLargeError)
  })
})
