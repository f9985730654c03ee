import { appendFileSync, cpSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A flow that is in no shipped file and no line of code: `procure_to_receive`, following an entity
 * type of its own (`purchase_order`). Added the way a user adds one, in a copy of config/.
 */
export const PROCURE_FLOW = `
procure_to_receive:
  entity: purchase_order
  stages:
    - name: created
      events: [retail.purchase_order.created]
    - name: sent
      events: [retail.purchase_order.sent]
      max_delay: 1h
  terminal:
    - name: cancelled
      events: [retail.purchase_order.cancelled]
`

/** config/ copied to a temp dir, with the procure flow added and its span key named. */
export function configWithProcureFlow(): string {
  const dir = mkdtempSync(join(tmpdir(), 'signalbox-config-'))
  const shipped = join(import.meta.dirname, '../../config')
  cpSync(shipped, dir, { recursive: true, filter: (src) => src !== join(shipped, 'demo') })
  appendFileSync(join(dir, 'flows.yaml'), PROCURE_FLOW)
  appendFileSync(join(dir, 'entity-keys.yaml'), 'purchase_order: [retail.purchase_order.id]\n')
  return dir
}

let n = 0
/** A purchase-order CloudEvent: the id is the subject, as for orders and returns. */
export const poEvent = (stage: string, id: string, at: number, extra: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id: `po-${n++}`,
  source: 'urn:procurement',
  type: `retail.purchase_order.${stage}`,
  subject: id,
  time: new Date(at).toISOString(),
  ...extra,
})
