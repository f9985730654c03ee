import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ContractBook } from '../../core/contract-book.ts'
import { compileContract } from '../../core/contract-schema.ts'
import { declaredVersion, loadEventContracts } from '../../core/event-contracts.ts'
import { EVENT_TYPES } from '../../core/vocabulary.ts'

const shipped = join(import.meta.dirname, '../../config')

describe('the shipped event contracts (config/events)', () => {
  it('cover every retail event type of the vocabulary, and the demo reads the same', () => {
    const types = new Set(loadEventContracts(shipped).contracts.map((c) => c.type))
    for (const type of Object.values(EVENT_TYPES).flat()) expect(types, type).toContain(type)
    expect(loadEventContracts(join(shipped, 'demo')).contracts).toEqual(loadEventContracts(shipped).contracts)
  })

  it('accept what the reference connectors send and name the path of what breaks', () => {
    const book = new ContractBook(loadEventContracts(shipped))
    const event = (type: string, data: unknown) => ({
      type,
      dataschema: '',
      datacontenttype: 'application/json',
      extensions: {},
      data: JSON.stringify(data),
    })
    const created = {
      channel: 'web',
      fulfilment: 'ship',
      total: 59.8,
      currency: 'GBP',
      lines: [{ sku: 'SKU-1', quantity: 2, unitPrice: 29.9 }],
      customer: { email: 'a@example.com' },
    }
    expect(book.check(event('retail.order.created', created))).toBeUndefined()
    // As the reference connectors send them (connectors/*), a change id being a number.
    const sent: Array<[string, unknown]> = [
      [
        'retail.inventory.adjusted',
        { sku: 'SKU-1', location: 'DC-NORTH', on_hand: 208, available: 188, change: 17961335 },
      ],
      [
        'retail.inventory.published',
        { sku: 'SKU-1', location: 'DC-NORTH', channel: 'pos', quantity: 188, change: 17961335 },
      ],
      [
        'retail.price.changed',
        {
          sku: 'SKU-1',
          priceList: 'GB',
          price: 19.99,
          currency: 'GBP',
          effectiveAt: '2026-12-01T10:00:00.000Z',
        },
      ],
      ['retail.price.published', { sku: 'SKU-1', priceList: 'GB', price: 17.99, promotionId: 'PROMO-1' }],
      ['retail.integration.deployed', { integration: 'order-to-cash', version: '1.1.0' }],
      [
        'retail.promotion.started',
        {
          promotionId: 'PROMO-1',
          skus: ['SKU-1'],
          channels: ['web'],
          kind: 'percent',
          value: 10,
          startsAt: '2026-12-01T10:00:00Z',
          endsAt: '2026-12-02T10:00:00Z',
        },
      ],
      [
        'retail.return.received',
        { reason: 'wrong_size', lines: [{ sku: 'SKU-1', quantity: 1, refundAmount: 19.99 }], store: null },
      ],
      ['retail.order.shipped', { shipment: 'SH-1', fulfilment: 'F-1' }],
    ]
    for (const [type, data] of sent) expect(book.check(event(type, data)), type).toBeUndefined()
    expect(book.check(event('retail.order.created', { ...created, lines: [{ quantity: 2 }] }))).toEqual({
      type: 'retail.order.created',
      version: '1',
      policy: 'warn',
      path: '$.lines[0].sku',
      message: 'is required',
    })
    expect(book.check(event('retail.order.created', { ...created, channel: 'fax' }))).toMatchObject({
      path: '$.channel',
      message: 'must be one of "web", "app", "marketplace", "pos"',
    })
    expect(book.check(event('vendor.unknown', { anything: 1 }))).toBeUndefined()
  })
})

describe('which version an event declares', () => {
  it('reads the dataversion extension first, then a dataschema laid out as <type>/<version>', () => {
    const t = 'retail.order.created'
    expect(
      declaredVersion(t, 'https://x.example/events/retail.order.created/2.json', { dataversion: 'v3' }),
    ).toBe('3')
    expect(declaredVersion(t, 'https://x.example/events/retail.order.created/2.json', {})).toBe('2')
    expect(declaredVersion(t, 'urn:contracts:retail.order.created:1.1', {})).toBe('1.1')
    expect(declaredVersion(t, 'https://x.example/schemas/order.json', {})).toBeUndefined()
    expect(declaredVersion(t, '', {})).toBeUndefined()
  })
})

describe('a contract’s schema', () => {
  it('is refused when it could make checks slow or reach outside itself', () => {
    expect(() => compileContract({ type: 'string', pattern: '^(a+)+$' })).toThrow(/nests quantifiers/)
    expect(() => compileContract({ $ref: 'https://evil.example/schema.json' })).toThrow(
      /only references inside/,
    )
    expect(() =>
      compileContract({ type: 'object', properties: { x: { type: 'string', maxLenght: 3 } } }),
    ).toThrow(/not a valid JSON Schema.*maxLenght/)
    let deep: Record<string, unknown> = { type: 'string' }
    for (let i = 0; i < 40; i++) deep = { type: 'array', items: deep }
    expect(() => compileContract(deep)).toThrow(/nests deeper/)
    expect(() => compileContract({ type: 'string', pattern: '^[A-Z]{3}$' })).not.toThrow()
  })

  it('stops start-up with the file named when one in config/events is broken', () => {
    const dir = mkdtempSync(join(tmpdir(), 'contracts-'))
    mkdirSync(join(dir, 'events', 'shop.thing.done'), { recursive: true })
    writeFileSync(join(dir, 'events', 'shop.thing.done', '1.json'), '{"type": "strnig"}')
    expect(() => loadEventContracts(dir)).toThrow(/shop\.thing\.done\/1\.json/)
  })
})
