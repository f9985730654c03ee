import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { signalbox } from '../support/cli.ts'

const dir = mkdtempSync(join(tmpdir(), 'events-diff-'))
const schema = (file: string, s: unknown) => {
  writeFileSync(join(dir, file), JSON.stringify(s))
  return join(dir, file)
}

describe('signalbox events diff', () => {
  it('says a new version with an added optional field is compatible, and exits 0', async () => {
    const v2 = schema('adjusted-v2.json', {
      type: 'object',
      properties: {
        sku: { type: 'string', minLength: 1 },
        location: { type: 'string', minLength: 1 },
        on_hand: { type: 'integer' },
        available: { type: 'integer' },
        change: { type: ['integer', 'string'] },
        reason: { type: 'string' },
      },
      required: ['sku', 'location', 'on_hand', 'available'],
    })
    const r = await signalbox(['events', 'diff', 'retail.inventory.adjusted', '1', v2])
    expect(r.stdout).toBe(
      `retail.inventory.adjusted ${v2} is backward compatible with 1 for consumers:\n` +
        '  compatible  $.reason  field_added: a new optional field\n',
    )
    expect(r.code).toBe(0)
  })

  it('names what breaks consumers, and exits 1 so a pipeline stops the change', async () => {
    const v2 = schema('adjusted-v3.json', {
      type: 'object',
      properties: { sku: { type: 'string' }, location: { type: 'string' }, on_hand: { type: 'string' } },
      required: ['sku', 'location', 'on_hand'],
    })
    const r = await signalbox(['events', 'diff', 'retail.inventory.adjusted', '1', v2, '--json'])
    expect(r.code).toBe(1)
    const out = JSON.parse(r.stdout) as {
      compatible: boolean
      changes: Array<{ path: string; kind: string }>
    }
    expect(out.compatible).toBe(false)
    expect(out.changes.filter((c) => c.kind !== 'field_removed' || c.path !== '$.change')).toEqual([
      expect.objectContaining({ path: '$.on_hand', kind: 'type_changed' }),
      expect.objectContaining({ path: '$.available', kind: 'field_removed' }),
    ])
  })

  it('tells which versions exist when asked for one that does not', async () => {
    const r = await signalbox(['events', 'diff', 'retail.inventory.adjusted', '1', '4'])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('retail.inventory.adjusted version 4: not in')
    expect(r.stderr).toContain('(it has 1)')
  })
})
