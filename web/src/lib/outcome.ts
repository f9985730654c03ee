import type { Slos } from './api.ts'
import type { Flow } from './flows.svelte.ts'
import { entityNoun } from './format.ts'

/**
 * How a long action stands, in words and colour that cannot be mistaken for one another: a job of 9
 * where none succeeded never reads like one where all did.
 */
export type Tone = 'working' | 'succeeded' | 'partly_failed' | 'failed' | 'cancelled'

export const TONE: Record<Tone, { icon: string; word: string }> = {
  working: { icon: '⟳', word: 'Working' },
  succeeded: { icon: '✓', word: 'Succeeded' },
  partly_failed: { icon: '⚠', word: 'Partly failed' },
  failed: { icon: '✕', word: 'Failed' },
  cancelled: { icon: '⊘', word: 'Cancelled' },
}

export interface Outcome {
  readonly tone: Tone
  readonly text: string
}

/** What a set of successful replays changed, counted by entity type and step. */
export interface Replayed {
  readonly entityType: string
  readonly connector: string
  readonly step: string
  readonly count: number
}

/**
 * After a fix, what changed, in a sentence ("7 orders replayed through post_sales_order; the
 * order_reaches_erp SLO recovers as its window moves past the failures"), so nobody has to read it
 * off a chart. The SLOs named are those not healthy now that follow a flow of the entities replayed
 * or a connector that replayed them.
 */
export function whatChanged(
  replayed: readonly Replayed[],
  slos: Slos['slos'],
  flows: readonly Flow[],
): string {
  if (replayed.length === 0) return ''
  const done = replayed
    .map((r) => `${r.count} ${entityNoun(r.entityType, r.count !== 1)} replayed through ${r.step}`)
    .join(', ')
  const types = new Set(replayed.map((r) => r.entityType))
  const connectors = new Set(replayed.map((r) => r.connector))
  const flowNames = new Set(flows.filter((f) => types.has(f.entity)).map((f) => f.name))
  const affected = slos.filter((s) => {
    if (s.status === 'ok' || s.status === 'no_data') return false
    const i = s.indicator as { flow?: string; connector?: string | null }
    return (i.flow !== undefined && flowNames.has(i.flow)) || (!!i.connector && connectors.has(i.connector))
  })
  if (affected.length === 0) return `${done}.`
  const names = affected.map((s) => s.id).join(', ')
  return `${done}; the ${names} SLO${affected.length === 1 ? '' : 's'} recover${affected.length === 1 ? 's' : ''} as the window moves past the failures.`
}
