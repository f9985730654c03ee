import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml'
import { z } from 'zod'
import { DURATION, durationMs } from './duration.ts'
import { ConfigError } from './errors.ts'
import { ENTITY_TYPES, type EntityType } from './vocabulary.ts'

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

/**
 * Reads `flows.yaml`. Every problem is reported with the file, the line and what is wrong, and stops
 * start-up: a flow that silently means something else would mislead everyone who reads its status.
 */
export function loadFlows(configDir: string): ReadonlyMap<string, FlowDefinition> {
  const file = join(configDir, 'flows.yaml')
  const text = readFileSync(file, 'utf8')
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter })
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => `${file}:${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`),
    )
  }
  const parsed = fileSchema.safeParse(doc.toJS() ?? {})
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const node = doc.getIn(issue.path as Array<string | number>, true) as { range?: [number] } | undefined
        const parent = doc.getIn(issue.path.slice(0, -1) as Array<string | number>, true)
        const at =
          node?.range?.[0] ?? ((isMap(parent) || isSeq(parent)) && parent.range ? parent.range[0] : undefined)
        const line = at === undefined ? '?' : lineCounter.linePos(at).line
        return `${file}:${line}: ${issue.path.join('.') || '(root)'}: ${issue.message}`
      }),
    )
  }
  return new Map(
    Object.entries(parsed.data).map(([flowName, f]) => [
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
