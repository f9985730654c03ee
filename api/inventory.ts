import { INVENTORY_EVENTS } from '../core/vocabulary.ts'
import type { InventoryEventRow } from '../store/queries/inventory.ts'

interface Adjusted {
  readonly at: number
  readonly onHand: number
  readonly available: number
  readonly change: number | null
}

const json = (text: string): Record<string, unknown> => {
  try {
    return JSON.parse(text) as Record<string, unknown>
  } catch {
    return {}
  }
}
const num = (v: unknown) => (typeof v === 'number' ? v : Number.NaN)
const iso = (ms: number) => new Date(ms).toISOString()

/**
 * One SKU at one location: stock changes at the source of truth, what each channel was last told
 * and when, the publication lag of the latest change per channel (still growing while a channel has
 * not been told), and the drift between what a channel may sell and what is available — a channel
 * told more than is available risks overselling.
 */
export function inventoryView(location: string, rows: readonly InventoryEventRow[], now: number) {
  const here = rows.filter((r) => r.location === location)
  const changes: Adjusted[] = here
    .filter((r) => r.type === INVENTORY_EVENTS.adjusted)
    .map((r) => {
      const d = json(r.data)
      return {
        at: Number(r.time_ms),
        onHand: num(d.on_hand),
        available: num(d.available),
        change: typeof d.change === 'number' ? d.change : null,
      }
    })
  const latest = changes[changes.length - 1]
  const published = here
    .filter((r) => r.type === INVENTORY_EVENTS.published)
    .map((r) => {
      const d = json(r.data)
      return {
        at: Number(r.time_ms),
        channel: String(d.channel ?? ''),
        quantity: num(d.quantity),
        change: typeof d.change === 'number' ? d.change : null,
      }
    })
  const channels = [...new Set(published.map((p) => p.channel))].sort()
  return {
    location,
    sourceOfTruth: latest ? { available: latest.available, onHand: latest.onHand, at: iso(latest.at) } : null,
    changes: changes.map((c) => ({ at: iso(c.at), onHand: c.onHand, available: c.available })),
    reservations: here
      .filter((r) => r.type === INVENTORY_EVENTS.reserved || r.type === INVENTORY_EVENTS.released)
      .map((r) => ({ at: iso(Number(r.time_ms)), kind: r.type.split('.').pop(), ...json(r.data) })),
    channels: channels.map((channel) => {
      const told = published.filter((p) => p.channel === channel)
      const last = told[told.length - 1] as (typeof told)[number]
      const quantity = last.quantity
      // The latest change reached the channel when a publication carries its change id (or, without
      // ids, when one followed it).
      const reached = latest
        ? told.find((p) => (latest.change !== null ? p.change === latest.change : p.at >= latest.at))
        : undefined
      const drift = latest ? quantity - latest.available : null
      return {
        channel,
        quantity,
        toldAt: iso(last.at),
        upToDate: latest ? reached !== undefined : true,
        lagMs: latest ? (reached ? reached.at - latest.at : now - latest.at) : null,
        drift,
        oversellRisk: drift !== null && drift > 0,
      }
    }),
  }
}
