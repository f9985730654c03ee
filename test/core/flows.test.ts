import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BusinessKeyFinder } from '../../collector/keys.ts'
import { loadEntityKeyAliases } from '../../core/entity-keys.ts'
import { eventEntityOf, loadFlows } from '../../core/flows.ts'

function flowsFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'signalbox-flows-'))
  writeFileSync(join(dir, 'flows.yaml'), text)
  return dir
}

describe('flows.yaml', () => {
  it('loads the shipped flows with their stages, alternatives, limits and terminal stages', () => {
    const flows = loadFlows(join(import.meta.dirname, '../../config'))
    const order = flows.get('order_to_cash')
    expect(order?.entity).toBe('order')
    expect(order?.stages.map((s) => s.name)).toEqual([
      'captured',
      'payment_authorized',
      'inventory_reserved',
      'erp_posted',
      'fulfilled',
      'delivered',
      'invoiced',
    ])
    expect(order?.stages.find((s) => s.name === 'fulfilled')).toEqual({
      name: 'fulfilled',
      events: ['retail.order.shipped', 'retail.order.ready_for_pickup'],
      maxDelayMs: 48 * 3_600_000,
      optional: false,
    })
    expect(order?.terminal.map((t) => t.name)).toEqual(['cancelled'])
    expect([...flows.keys()]).toEqual([
      'order_to_cash',
      'return_to_refund',
      'inventory_sync',
      'price_sync',
      'procure_to_receive',
    ])
  })

  it('names the file, the line and the problem for each mistake', () => {
    const dir = flowsFile(
      'order_to_cash:\n  entity: Parcel\n  stages:\n    - name: captured\n      max_delay: soon\n    - name: captured\n',
    )
    expect(() => loadFlows(dir)).toThrow(
      expect.objectContaining({
        problems: expect.arrayContaining([
          `${join(dir, 'flows.yaml')}:2: order_to_cash.entity: lower-case letters, digits and underscores`,
          `${join(dir, 'flows.yaml')}:5: order_to_cash.stages.0.max_delay: a duration such as 90s, 15m, 48h or 7d`,
        ]),
      }),
    )
  })

  it('refuses a stage defined twice in a flow', () => {
    const dir = flowsFile(
      'return_to_refund:\n  entity: return\n  stages:\n    - name: received\n    - name: received\n',
    )
    expect(() => loadFlows(dir)).toThrow(
      /flows\.yaml:5: return_to_refund\.stages\.1: stage 'received' is defined twice/,
    )
  })

  it('takes a stage that may be passed over, but not the first or last stage, nor a terminal one', () => {
    const stages = (second: string, last = '') =>
      `return_to_refund:\n  entity: return\n  stages:\n    - name: received\n${second}    - name: restocked\n      max_delay: 1d\n${last}`
    const ok = loadFlows(
      flowsFile(stages('    - name: inspected\n      max_delay: 1h\n      optional: true\n')),
    )
    expect(ok.get('return_to_refund')?.stages.map((s) => s.optional)).toEqual([false, true, false])
    expect(() => loadFlows(flowsFile(stages('', '      optional: true\n')))).toThrow(
      /flows\.yaml:\d+: return_to_refund\.stages\.1\.optional: stage 'restocked' is the flow's last: it cannot be optional/,
    )
    expect(() => loadFlows(flowsFile(stages('    - name: inspected\n      optional: maybe\n')))).toThrow(
      /return_to_refund\.stages\.1\.optional/,
    )
  })

  it('reports YAML syntax errors with their line', () => {
    const dir = flowsFile('order_to_cash:\n  entity: order\n  stages: [\n')
    expect(() => loadFlows(dir)).toThrow(/flows\.yaml:\d+:/)
  })

  it('takes a flow that follows an entity type of its own, and keys its events and spans by it', () => {
    const dir = flowsFile(
      [
        'order_to_cash:\n  entity: order\n  stages:\n    - name: captured\n      events: [retail.order.created]\n',
        'procure_to_receive:\n  entity: purchase_order\n  stages:\n',
        '    - name: created\n      events: [retail.purchase_order.created]\n',
        '    - name: booked\n      events: [acme.po.booked]\n',
      ].join(''),
    )
    writeFileSync(join(dir, 'entity-keys.yaml'), 'purchase_order: [retail.purchase_order.id, po.number]\n')
    const flows = loadFlows(dir)
    expect(flows.get('procure_to_receive')?.entity).toBe('purchase_order')
    const entityOf = eventEntityOf(flows)
    // Built-in prefixes, the types a flow lists, then retail.<entity>. for the configured entity.
    expect(entityOf('retail.order.created')).toBe('order')
    expect(entityOf('retail.inventory.published')).toBe('sku')
    expect(entityOf('acme.po.booked')).toBe('purchase_order')
    expect(entityOf('retail.purchase_order.closed')).toBe('purchase_order')
    expect(entityOf('retail.parcel.sent')).toBeUndefined()
    const keys = new BusinessKeyFinder(loadEntityKeyAliases(dir))
    expect(keys.find({ 'po.number': 'PO-7', 'retail.order.id': 'SO-1' }, {}).entities).toEqual([
      ['order', 'SO-1'],
      ['purchase_order', 'PO-7'],
    ])
  })
})
