import { appendFileSync, cpSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A flow that is in no shipped file and no line of code: `store_transfer`, following an entity
 * type of its own (`transfer_order`). Added the way a user adds one, in a copy of config/.
 */
export const TRANSFER_FLOW = `
store_transfer:
  entity: transfer_order
  stages:
    - name: created
      events: [retail.transfer_order.created]
    - name: sent
      events: [retail.transfer_order.sent]
      max_delay: 1h
  terminal:
    - name: cancelled
      events: [retail.transfer_order.cancelled]
`

/** config/ copied to a temp dir, with the transfer flow added and its span key named. */
export function configWithTransferFlow(): string {
  const dir = mkdtempSync(join(tmpdir(), 'signalbox-config-'))
  const shipped = join(import.meta.dirname, '../../config')
  cpSync(shipped, dir, { recursive: true, filter: (src) => src !== join(shipped, 'demo') })
  appendFileSync(join(dir, 'flows.yaml'), TRANSFER_FLOW)
  appendFileSync(join(dir, 'entity-keys.yaml'), 'transfer_order: [retail.transfer_order.id]\n')
  return dir
}

let n = 0
/** A transfer-order CloudEvent: the id is the subject, as for orders and returns. */
export const transferEvent = (
  stage: string,
  id: string,
  at: number,
  extra: Record<string, unknown> = {},
) => ({
  specversion: '1.0',
  id: `to-${n++}`,
  source: 'urn:store-transfers',
  type: `retail.transfer_order.${stage}`,
  subject: id,
  time: new Date(at).toISOString(),
  ...extra,
})
