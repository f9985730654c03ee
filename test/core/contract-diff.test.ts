import { describe, expect, it } from 'vitest'
import { diffContracts } from '../../core/contract-diff.ts'

const v1 = {
  type: 'object',
  properties: {
    orderId: { type: 'string' },
    channel: { type: 'string', enum: ['web', 'app', 'pos'] },
    total: { type: 'number' },
    note: { type: 'string' },
    lines: {
      type: 'array',
      items: {
        type: 'object',
        properties: { sku: { type: 'string' }, qty: { type: 'integer' } },
        required: ['sku'],
      },
    },
  },
  required: ['orderId', 'channel', 'total', 'lines'],
}

// biome-ignore lint/suspicious/noExplicitAny: each test edits the schema freely
type Editable = any

/** v1 with `change` applied to a copy. */
function v2(change: (s: Editable) => void) {
  const copy: Editable = structuredClone(v1)
  change(copy)
  return copy
}

const kinds = (d: ReturnType<typeof diffContracts>) => d.changes.map((c) => `${c.kind} ${c.path}`)

describe('contract compatibility for consumers (signalbox events diff)', () => {
  it('finds nothing between a schema and itself', () => {
    expect(diffContracts(v1, structuredClone(v1))).toEqual({ compatible: true, changes: [] })
  })

  it('an added optional field is compatible', () => {
    const d = diffContracts(
      v1,
      v2((s) => {
        s.properties.giftWrap = { type: 'boolean' }
      }),
    )
    expect(d.compatible).toBe(true)
    expect(kinds(d)).toEqual(['field_added $.giftWrap'])
  })

  it('a removed required field breaks consumers; a removed optional one does not', () => {
    const removedRequired = diffContracts(
      v1,
      v2((s) => {
        delete (s.properties as Record<string, unknown>).total
        s.required = s.required.filter((f: string) => f !== 'total')
      }),
    )
    expect(removedRequired.compatible).toBe(false)
    expect(kinds(removedRequired)).toEqual(['field_removed $.total'])
    const removedOptional = diffContracts(
      v1,
      v2((s) => {
        delete (s.properties as Record<string, unknown>).note
      }),
    )
    expect(removedOptional).toMatchObject({
      compatible: true,
      changes: [{ kind: 'field_removed', breaking: false }],
    })
  })

  it('a required field made optional breaks consumers', () => {
    const d = diffContracts(
      v1,
      v2((s) => {
        s.required = ['orderId', 'channel', 'lines']
      }),
    )
    expect(d.compatible).toBe(false)
    expect(kinds(d)).toEqual(['field_made_optional $.total'])
  })

  it('a retyped field breaks consumers, also inside array items', () => {
    const top = diffContracts(
      v1,
      v2((s) => {
        s.properties.total = { type: 'string' }
      }),
    )
    expect(top.compatible).toBe(false)
    expect(top.changes[0]).toMatchObject({
      path: '$.total',
      kind: 'type_changed',
      detail: 'type number → string',
    })
    const nested = diffContracts(
      v1,
      v2((s) => {
        s.properties.lines.items.properties.qty = { type: 'string' }
      }),
    )
    expect(nested.compatible).toBe(false)
    expect(kinds(nested)).toEqual(['type_changed $.lines[*].qty'])
  })

  it('a narrowed enum breaks; a widened one is compatible but listed', () => {
    const narrowed = diffContracts(
      v1,
      v2((s) => {
        s.properties.channel.enum = ['web', 'app']
      }),
    )
    expect(narrowed.compatible).toBe(false)
    expect(narrowed.changes[0]).toMatchObject({ kind: 'enum_narrowed', detail: 'no longer allows "pos"' })
    const widened = diffContracts(
      v1,
      v2((s) => {
        s.properties.channel.enum = ['web', 'app', 'pos', 'marketplace']
      }),
    )
    expect(widened.compatible).toBe(true)
    expect(kinds(widened)).toEqual(['enum_widened $.channel'])
  })

  it('a new required field is compatible for consumers (producers must send it)', () => {
    const d = diffContracts(
      v1,
      v2((s) => {
        s.properties.currency = { type: 'string' }
        s.required.push('currency')
      }),
    )
    expect(d.compatible).toBe(true)
    expect(kinds(d)).toEqual(['required_field_added $.currency'])
  })

  it('reports a changed $ref or combinator as breaking rather than guessing', () => {
    const d = diffContracts(
      v1,
      v2((s) => {
        s.properties.total = { anyOf: [{ type: 'number' }, { type: 'string' }] }
      }),
    )
    expect(d.compatible).toBe(false)
    expect(d.changes.map((c) => c.kind)).toContain('not_compared')
  })

  it('names several changes at once, each with its path', () => {
    const d = diffContracts(
      v1,
      v2((s) => {
        s.properties.channel.enum = ['web']
        s.properties.lines.items.required = []
        s.properties.giftWrap = { type: 'boolean' }
      }),
    )
    expect(kinds(d)).toEqual([
      'enum_narrowed $.channel',
      'field_made_optional $.lines[*].sku',
      'field_added $.giftWrap',
    ])
    expect(d.compatible).toBe(false)
  })
})
