import { join } from 'node:path'
import { z } from 'zod'
import { DURATION, durationMs } from './duration.ts'
import { ENTITY_TYPES, type EntityType } from './vocabulary.ts'
import { readYamlConfig } from './yaml-config.ts'

export interface StageDefinition {
  readonly name: string
  /** CloudEvents types that complete the stage (alternatives: shipped or ready for pickup). */
  readonly events: readonly string[]
  /** Longest expected wait after the previous stage, in milliseconds; none for the first stage. */
  readonly maxDelayMs?: number
}

export interface FlowDefinition {
  readonly name: string
  readonly entity: EntityType
  readonly stages: readonly StageDefinition[]
  readonly terminal: readonly StageDefinition[]
}

const duration = z.string().regex(DURATION, 'a duration such as 90s, 15m, 48h or 7d').transform(durationMs)
const name = z.string().regex(/^[a-z][a-z0-9_]*$/, 'lower-case letters, digits and underscores')
const stage = z
  .object({ name, events: z.array(z.string().min(1)).default([]), max_delay: duration.optional() })
  .strict()
const flowSchema = z
  .object({
    entity: z.enum(ENTITY_TYPES),
    stages: z.array(stage).min(1),
    terminal: z.array(stage).default([]),
  })
  .strict()
  .superRefine((f, ctx) => {
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
    terminalEvents: flow.terminal.flatMap((t) => t.events),
  }
}
