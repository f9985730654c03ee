import type { Estate } from '../estate/index.ts'
import type { PurchaseOrder } from '../estate/purchasing.ts'
import type { SupplierBehaviour } from '../estate/supplier-portal.ts'

const SECOND = 1_000
const MINUTE = 60_000

/**
 * How the demo's suppliers behave, in seconds where real ones take days: one usually prompt but
 * sometimes minutes late to acknowledge, one that now and then ships without acknowledging and whose
 * ASNs are often wrong, and all miscounting a delivery now and then (short, over, a substitute item).
 */
export const DEMO_SUPPLIERS: ReadonlyArray<readonly [string, SupplierBehaviour]> = [
  [
    'ACME-HOME',
    { ackAfterMs: 5 * SECOND, shipAfterMs: 20 * SECOND, discrepancyRate: 0.15, asnErrorRate: 0.05 },
  ],
  [
    'NORTHWIND',
    {
      ackAfterMs: 10 * SECOND,
      lateRate: 0.3,
      lateByMs: 4 * MINUTE,
      shipAfterMs: 30 * SECOND,
      discrepancyRate: 0.1,
      asnErrorRate: 0,
    },
  ],
  [
    'GLOBEX',
    {
      ackAfterMs: 8 * SECOND,
      missingAckRate: 0.25,
      shipAfterMs: 40 * SECOND,
      discrepancyRate: 0.2,
      asnErrorRate: 0.2,
    },
  ],
]

/** The ERP raises its next replenishment purchase order (the connector follows the ERP's feed). */
export function raisePurchaseOrder(estate: Estate, supplier?: string): PurchaseOrder {
  return estate.erp.purchasing.raise(estate.replenishment.nextPurchaseOrder(supplier))
}
