import { join } from 'node:path'
import { z } from 'zod'
import { durationSetting } from './duration.ts'
import { ENTITY_TYPE_NAME, EVENT_TYPE_PREFIX_ENTITY } from './vocabulary.ts'
import { readYamlConfig } from './yaml-config.ts'

export interface StageDefinition {
  readonly name: string
  /** CloudEvents types that complete the stage (alternatives: shipped or ready for pickup). */
  readonly events: readonly string[]
  /** Longest expected wait after the previous stage, in milliseconds; none for the first stage. */
  readonly maxDelayMs?: number
  /**
   * The entity may pass over it for good (`optional: true`): never unconfirmed, never awaited. Without
   * it, a stage passed over while a later one was reached is *unconfirmed* (docs/configuration.md).
   */
  readonly optional: boolean
}

export interface FlowDefinition {
  readonly name: string
  /** A built-in entity type (`order`, `purchase_order`) or one the flow brings (`transfer_order`). */
  readonly entity: string
  readonly stages: readonly StageDefinition[]
  readonly terminal: readonly StageDefinition[]
}

const name = z.string().regex(ENTITY_TYPE_NAME, 'lower-case letters, digits and underscores')
const stage = z
  .object({
    name,
    events: z.array(z.string().min(1)).default([]),
    max_delay: durationSetting.optional(),
    optional: z.boolean().default(false),
  })
  .strict()
const flowSchema = z
  .object({
    entity: name,
    stages: z.array(stage).min(1),
    terminal: z.array(stage).default([]),
  })
  .strict()
  .superRefine((f, ctx) => {
    // An entity enters a flow at its first stage and completes it at its last: neither can be passed over.
    f.stages.forEach((s, i) => {
      if (s.optional && (i === 0 || i === f.stages.length - 1))
        ctx.addIssue({
          code: 'custom',
          message: `stage '${s.name}' is the flow's ${i === 0 ? 'first' : 'last'}: it cannot be optional`,
          path: ['stages', i, 'optional'],
        })
    })
    f.terminal.forEach((s, i) => {
      if (s.optional)
        ctx.addIssue({
          code: 'custom',
          message: 'a terminal stage cannot be optional',
          path: ['terminal', i, 'optional'],
        })
    })
    const names = [...f.stages, ...f.terminal].map((s) => s.name)
    names.forEach((n, i) => {
      if (names.indexOf(n) === i) return
      const path = i < f.stages.length ? ['stages', i] : ['terminal', i - f.stages.length]
      ctx.addIssue({ code: 'custom', message: `stage '${n}' is defined twice`, path })
    })
  })
const fileSchema = z.record(name, flowSchema)

const toStage = (s: z.infer<typeof stage>): StageDefinition => ({
  name: s.name,
  events: s.events,
  maxDelayMs: s.max_delay,
  optional: s.optional,
})

/** Reads `flows.yaml` (see `readYamlConfig` for how mistakes are reported). */
export function loadFlows(configDir: string): ReadonlyMap<string, FlowDefinition> {
  const parsed = readYamlConfig(join(configDir, 'flows.yaml'), fileSchema)
  return new Map(
    Object.entries(parsed).map(([flowName, f]) => [
      flowName,
      { name: flowName, entity: f.entity, stages: f.stages.map(toStage), terminal: f.terminal.map(toStage) },
    ]),
  )
}

/** A flow as the store's queries take it. */
export function flowShape(flow: FlowDefinition) {
  return {
    entityType: flow.entity,
    name: flow.name,
    stageEvents: flow.stages.map((s) => s.events),
    optionalStages: flow.stages.map((s) => s.optional),
    terminalEvents: flow.terminal.flatMap((t) => t.events),
  }
}

/**
 * Which entity a business event is about, by its type: the built-in prefixes first (`retail.order.`),
 * then the event types the configured flows list, then `retail.<entity>.` for each entity type a flow
 * follows. So a flow added to flows.yaml, with an entity type of its own, is keyed with no code change.
 */
export function eventEntityOf(
  flows: ReadonlyMap<string, FlowDefinition>,
): (type: string) => string | undefined {
  const listed = new Map<string, string>()
  for (const f of flows.values())
    for (const s of [...f.stages, ...f.terminal])
      for (const e of s.events) if (!listed.has(e)) listed.set(e, f.entity)
  const configured = [...new Set([...flows.values()].map((f) => f.entity))].map(
    (e) => [`retail.${e}.`, e] as const,
  )
  const byPrefix = (rules: ReadonlyArray<readonly [string, string]>, type: string) =>
    rules.find(([prefix]) => type.startsWith(prefix))?.[1]
  return (type) => byPrefix(EVENT_TYPE_PREFIX_ENTITY, type) ?? listed.get(type) ?? byPrefix(configured, type)
}

/** The entity of an event by the built-in prefixes alone (no flows configured). */
export const builtInEventEntityOf = eventEntityOf(new Map())
