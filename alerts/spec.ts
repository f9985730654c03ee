import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { z } from 'zod'
import {
  type Catalog,
  type Integration,
  integrationOf,
  loadCatalog,
  mostCritical,
  tierOf,
} from '../core/catalog.ts'
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
    /** Unset: the objective of the tier of the integration it belongs to (catalog.yaml). */
    objective: z.number().gt(0).lt(1, 'a ratio below 1, such as 0.999').optional(),
    window: windowSchema.default({ kind: 'rolling', ms: 30 * DAY_MS }),
    /** Connectors this SLO depends on: their "connector down" alert suppresses this SLO's alerts. */
    depends_on: z.array(z.string().min(1)).default([]),
    /** Fewest events in a long window before a page (a handful of late orders at 3 a.m. is not an outage). */
    min_events: z.number().int().min(0).optional(),
    /** The catalog entry it belongs to; unset: the most critical integration it depends on. */
    integration: z.string().min(1).optional(),
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
  /** The catalog entry it belongs to, with the owner and tier its alerts are labelled with. */
  readonly integration?: Pick<Integration, 'id' | 'owner' | 'tier'>
  /** Where the objective came from: this SLO's own, or its integration's tier. */
  readonly objectiveFrom: 'slo' | 'tier'
}

const DEFAULT_MIN_EVENTS = 20

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

/**
 * The integration an SLO belongs to: the one it names, else the most critical of the connectors it
 * depends on or measures, else the most critical one carrying its flow.
 */
function integrationOfSlo(catalog: Catalog, slo: z.output<typeof sloSchema>): Integration | undefined {
  if (slo.integration) return catalog.integrations.find((i) => i.id === slo.integration)
  const kind = kindKey(slo.sli)
  const settings = slo.sli[kind] as { connector?: string; flow?: string }
  const connectors = [...slo.depends_on, ...(settings.connector ? [settings.connector] : [])]
  const byConnector = mostCritical(connectors.flatMap((c) => integrationOf(catalog, 'connector', c) ?? []))
  const flow = settings.flow
  return (
    byConnector ??
    (flow ? mostCritical(catalog.integrations.filter((i) => i.flows.includes(flow))) : undefined)
  )
}

/**
 * Reads `slos.yaml`; flows and stages are checked against `flows.yaml`. An SLO without an objective
 * or `min_events` takes its integration's tier's (catalog.yaml); without either, it is an error.
 */
export function loadSlos(
  configDir: string,
  flows: ReadonlyMap<string, FlowDefinition>,
  catalog: Catalog = loadCatalog(configDir, flows),
): SloDefinition[] {
  const parsed = readYamlConfig(join(configDir, 'slos.yaml'), fileSchema, (slos) =>
    Object.entries(slos).flatMap(([id, slo]) => {
      const problems = checkSli(slo.sli, flows).map((p) => ({
        path: [id, 'sli', ...p.path],
        message: p.message,
      }))
      if (slo.integration && !catalog.integrations.some((i) => i.id === slo.integration))
        problems.push({
          path: [id, 'integration'],
          message: `no integration '${slo.integration}' in catalog.yaml`,
        })
      const integration = integrationOfSlo(catalog, slo)
      if (slo.objective === undefined && !(integration && tierOf(catalog, integration.tier).slo.objective))
        problems.push({
          path: [id, 'objective'],
          message: 'required: it belongs to no integration in catalog.yaml whose tier sets one',
        })
      return problems
    }),
  )
  return Object.entries(parsed).map(([id, s]) => {
    const integration = integrationOfSlo(catalog, s)
    const tier = integration ? tierOf(catalog, integration.tier).slo : {}
    return {
      id,
      description: s.description,
      sli: toSli(s.sli, flows),
      objective: (s.objective ?? tier.objective) as number,
      window: s.window,
      dependsOn: s.depends_on,
      minEvents: s.min_events ?? tier.minEvents ?? DEFAULT_MIN_EVENTS,
      unit: s.unit,
      labels: s.labels,
      ...(integration
        ? { integration: { id: integration.id, owner: integration.owner, tier: integration.tier } }
        : {}),
      objectiveFrom: s.objective === undefined ? 'tier' : 'slo',
    }
  })
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
  const owner: Record<string, string> = slo.integration
    ? {
        integration: slo.integration.id,
        team: slo.integration.owner.team,
        tier: String(slo.integration.tier),
      }
    : {}
  return { ...kindOf(slo.sli).labels(slo.sli), ...owner, ...slo.labels, slo: slo.id, sli: slo.sli.kind }
}
