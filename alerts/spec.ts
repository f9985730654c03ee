import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { z } from 'zod'
import { DAY_MS, durationMs } from '../core/duration.ts'
import type { FlowDefinition } from '../core/flows.ts'
import { readYamlConfig } from '../core/yaml-config.ts'
import type { Sli, SliKind } from '../store/queries/sli.ts'
import { kindOf, SLI_KINDS } from './sli-kinds.ts'

const name = z.string().regex(/^[a-z][a-z0-9_]*$/, 'lower-case letters, digits and underscores')
const labels = z.record(z.string().regex(/^[a-z_][a-z0-9_]*$/), z.string()).default({})

/** `{ <kind>: <settings> }`: one key, an SLI kind of the registry (alerts/sli-kinds.ts). */
const sliSchema = z.union(
  (Object.keys(SLI_KINDS) as SliKind[]).map((kind) => z.object({ [kind]: SLI_KINDS[kind].schema }).strict()),
)

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

const kindKey = (sli: SliConfig) => Object.keys(sli)[0] as SliKind

/** Flows and stages named by an SLI, checked once at start, so a typo is a start-up error, not a silent 0%. */
function checkSli(sli: SliConfig, flows: ReadonlyMap<string, FlowDefinition>) {
  const kind = kindKey(sli)
  return SLI_KINDS[kind].check(sli[kind], flows).map((p) => ({ path: [kind, ...p.path], message: p.message }))
}

function toSli(sli: SliConfig, flows: ReadonlyMap<string, FlowDefinition>): Sli {
  const kind = kindKey(sli)
  return SLI_KINDS[kind].build(sli[kind], flows)
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

/** `slos.yaml` as written (durations as the author wrote them), for OpenSLO export; `loadSlos` checks it. */
export function readSloDocument(configDir: string): Record<string, Record<string, unknown>> {
  return parse(readFileSync(join(configDir, 'slos.yaml'), 'utf8')) ?? {}
}

/** What keeps a `slos.yaml` document (parsed YAML) from loading, as `path: message`; none when it loads. */
export function sloDocumentProblems(doc: unknown, flows: ReadonlyMap<string, FlowDefinition>): string[] {
  const parsed = fileSchema.safeParse(doc)
  if (!parsed.success) return parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
  return Object.entries(parsed.data).flatMap(([id, slo]) =>
    checkSli(slo.sli, flows).map((p) => `${[id, 'sli', ...p.path].join('.')}: ${p.message}`),
  )
}

/** The labels every alert of an SLO carries, for routing and silences. */
export function sloLabels(slo: SloDefinition): Record<string, string> {
  return { ...kindOf(slo.sli).labels(slo.sli), ...slo.labels, slo: slo.id, sli: slo.sli.kind }
}
