import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { openFields, sealFields } from '../../connectors/sdk/sealing.ts'

const key = randomBytes(32).toString('base64')
const order = {
  orderId: 'SO-1',
  customer: { email: 'ada@example.com', address: { line1: '12 Analytical St' } },
  lines: [{ sku: 'A' }],
}

describe('sealed payload fields', () => {
  it('round-trips: sealed fields hide the data, opening restores it exactly', () => {
    const sealed = sealFields(order, ['customer.email', 'customer.address', 'customer.missing'], key)
    const text = JSON.stringify(sealed)
    expect(text).not.toContain('ada@example.com')
    expect(text).not.toContain('Analytical')
    expect(text).toContain('SO-1')
    expect(openFields(sealed, key)).toEqual(order)
    // The original is untouched.
    expect(order.customer.email).toBe('ada@example.com')
  })

  it('refuses to open with another key, or without one', () => {
    const sealed = sealFields(order, ['customer.email'], key)
    expect(() => openFields(sealed, randomBytes(32).toString('base64'))).toThrow()
    expect(() => openFields(sealed, undefined)).toThrow(/no payload key/)
  })

  it('refuses a key that is not 32 bytes', () => {
    expect(() => sealFields(order, ['customer.email'], Buffer.from('short').toString('base64'))).toThrow(
      /32 bytes/,
    )
  })
})
