import { join } from 'node:path'
import { z } from 'zod'
import { DURATION, durationMs } from '../core/duration.ts'
import { type FlowDefinition, flowShape } from '../core/flows.ts'
import { readYamlConfig } from '../core/yaml-config.ts'
import type { Sli } from '../store/queries/sli.ts'

const DAY_MS = 86_400_000
const name = z.string().regex(/^[a-z][a-z0-9_]*$/, 'lower-case letters, digits and underscores')
const duration = z.string().regex(DURATION, 'a duration such as 90s, 15m, 48h or 7d').transform(durationMs)
const labels = z.record(z.string().regex(/^[a-z_][a-z0-9_]*$/), z.string()).default({})

/** The SLI kinds (issue 6): what counts as a good event and when it counts. */
const sliSchema = z.union([
  z
    .object({ flow_latency: z.object({ flow: name, from: name, to: name, within: duration }).strict() })
    .strict(),
  z.object({ flow_completion: z.object({ flow: name, within: duration }).strict() }).strict(),
  z
    .object({
      connector_success: z
        .object({ connector: z.string().min(1).optional(), system: z.string().min(1).optional() })
        .strict()
        .refine((c) => Boolean(c.connector) !== Boolean(c.system), 'exactly one of connector or system'),
    })
    .strict(),
  z
    .object({
      freshness: z.object({ channels: z.array(z.string().min(1)).min(1), within: duration }).strict(),
    })
    .strict(),
  z
    .object({
      absence: z
        .object({
          source: z.string().min(1).optional(),
          system: z.string().min(1).optional(),
          location: z.string().min(1).optional(),
          within: duration,
        })
        .strict()
        .refine((a) => a.source || a.system || a.location, 'one of source, system or location'),
    })
    .strict(),
])

const windowSchema = z.union([
  z
    .string()
    .regex(/^\d+d$/, 'a rolling window in days such as 28d or 30d, or { calendar: month, time_zone }')
    .transform(durationMs)
    .refine((ms) => ms >= DAY_MS && ms <= 90 * DAY_MS, 'between 1d and 90d')
    .transform((ms) => ({ kind: 'rolling' as const, ms })),
  z
    .object({
      calendar: z.literal('month'),
      time_zone: z.string().refine(validTimeZone, 'an IANA time zone such as Europe/Berlin').default('UTC'),
    })
    .strict()
    .transform((w) => ({ kind: 'calendar_month' as const, timeZone: w.time_zone })),
])

const sloSchema = z
  .object({
    description: z.string().min(1),
    sli: sliSchema,
    objective: z.number().gt(0).lt(1, 'a ratio below 1, such as 0.999'),
    window: windowSchema.default({ kind: 'rolling', ms: 30 * DAY_MS }),
    /** Connectors this SLO depends on: their "connector down" alert suppresses this SLO's alerts. */
    depends_on: z.array(z.string().min(1)).default([]),
    /** Fewest events in a long window before a page (a handful of late orders at 3 a.m. is not an outage). */
    min_events: z.number().int().min(0).default(20),
    /** What one event is, for the remaining budget in business units ("37 late orders left"). */
    unit: z.string().min(1).default('events'),
    labels,
  })
  .strict()

const fileSchema = z.record(name, sloSchema)

type SliConfig = z.output<typeof sliSchema>
export type SloWindow = { kind: 'rolling'; ms: number } | { kind: 'calendar_month'; timeZone: string }

export interface SloDefinition {
  readonly id: string
  readonly description: string
  readonly sli: Sli
  readonly objective: number
  readonly window: SloWindow
  readonly dependsOn: readonly string[]
  readonly minEvents: number
  readonly unit: string
  readonly labels: Readonly<Record<string, string>>
}

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz })
    return true
  } catch {
    return false
  }
}

/** Stage names become positions in the flow here, once, so a typo is a start-up error, not a silent 0%. */
function checkSli(sli: SliConfig, flows: ReadonlyMap<string, FlowDefinition>) {
  const problems: Array<{ path: string[]; message: string }> = []
  const flowOf = (key: string, flowName: string) => {
    const flow = flows.get(flowName)
    if (!flow)
      problems.push({
        path: [key, 'flow'],
        message: `no flow '${flowName}' in flows.yaml (${[...flows.keys()].join(', ')})`,
      })
    return flow
  }
  if ('flow_latency' in sli) {
    const flow = flowOf('flow_latency', sli.flow_latency.flow)
    const stages = flow?.stages.map((s) => s.name) ?? []
    const from = stages.indexOf(sli.flow_latency.from)
    const to = stages.indexOf(sli.flow_latency.to)
    if (flow && from < 0)
      problems.push({
        path: ['flow_latency', 'from'],
        message: `no stage '${sli.flow_latency.from}' in ${flow.name}`,
      })
    if (flow && to < 0)
      problems.push({
        path: ['flow_latency', 'to'],
        message: `no stage '${sli.flow_latency.to}' in ${flow.name}`,
      })
    if (from >= 0 && to >= 0 && to <= from)
      problems.push({
        path: ['flow_latency', 'to'],
        message: `'${sli.flow_latency.to}' must come after '${sli.flow_latency.from}'`,
      })
  }
  if ('flow_completion' in sli) flowOf('flow_completion', sli.flow_completion.flow)
  return problems
}

function toSli(sli: SliConfig, flows: ReadonlyMap<string, FlowDefinition>): Sli {
  if ('flow_latency' in sli) {
    const { flow, from, to, within } = sli.flow_latency
    const definition = flows.get(flow) as FlowDefinition
    const stages = definition.stages.map((s) => s.name)
    return {
      kind: 'flow_latency',
      flow: flowShape(definition),
      fromStage: stages.indexOf(from) + 1,
      toStage: stages.indexOf(to) + 1,
      withinMs: within,
    }
  }
  if ('flow_completion' in sli)
    return {
      kind: 'flow_completion',
      flow: flowShape(flows.get(sli.flow_completion.flow) as FlowDefinition),
      withinMs: sli.flow_completion.within,
    }
  if ('connector_success' in sli) return { kind: 'connector_success', ...sli.connector_success }
  if ('freshness' in sli)
    return { kind: 'freshness', channels: sli.freshness.channels, withinMs: sli.freshness.within }
  const { within, ...where } = sli.absence
  return { kind: 'absence', ...where, withinMs: within }
}

/** Reads `slos.yaml`; flows and stages are checked against `flows.yaml`. */
export function loadSlos(configDir: string, flows: ReadonlyMap<string, FlowDefinition>): SloDefinition[] {
  const parsed = readYamlConfig(join(configDir, 'slos.yaml'), fileSchema, (slos) =>
    Object.entries(slos).flatMap(([id, slo]) =>
      checkSli(slo.sli, flows).map((p) => ({ path: [id, 'sli', ...p.path], message: p.message })),
    ),
  )
  return Object.entries(parsed).map(([id, s]) => ({
    id,
    description: s.description,
    sli: toSli(s.sli, flows),
    objective: s.objective,
    window: s.window,
    dependsOn: s.depends_on,
    minEvents: s.min_events,
    unit: s.unit,
    labels: s.labels,
  }))
}

/** The labels every alert of an SLO carries, for routing and silences. */
export function sloLabels(slo: SloDefinition): Record<string, string> {
  const sli = slo.sli
  const scope: Record<string, string> = {}
  if ('flow' in sli) scope.flow = sli.flow.name
  if (sli.kind === 'connector_success') {
    if (sli.connector) scope.connector = sli.connector
    if (sli.system) scope.system = sli.system
  }
  if (sli.kind === 'absence' && sli.system) scope.system = sli.system
  return { ...scope, ...slo.labels, slo: slo.id, sli: sli.kind }
}
