import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Cron } from 'croner'
import { z } from 'zod'
import { DAY_MS, durationSetting, HOUR_MS, MINUTE_MS } from './duration.ts'
import type { FlowDefinition } from './flows.ts'
import { readYamlConfig } from './yaml-config.ts'

/**
 * The integration catalog (`catalog.yaml`): every integration with its owner, business domain,
 * criticality tier, latency class, pattern, expected volume and failure impact in business words. It
 * is read by alert routing (`team` and `tier` labels), by SLOs (defaults by tier), by the Catalog page
 * and by the unowned-integration check, which names what telemetry shows but the catalog does not.
 */

export const DOMAINS = [
  'product',
  'inventory',
  'order',
  'customer',
  'pricing',
  'finance',
  'procurement',
] as const
export const KINDS = ['connector', 'batch_job', 'external'] as const
export const LATENCY_CLASSES = ['real-time', 'near-real-time', 'batch'] as const
export const PATTERNS = ['synchronous-api', 'event-driven', 'scheduled-batch', 'orchestration'] as const
export const TIERS = [1, 2, 3, 4] as const
export type Tier = (typeof TIERS)[number]

const id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'lower-case letters, digits, dot, dash, underscore')
const team = z.string().regex(/^[a-z][a-z0-9_-]*$/, 'a team name in lower case (it becomes an alert label)')
const owner = z.object({ team, contact: z.string().min(1) }).strict()
const names = z.array(z.string().min(1)).default([])

const sloDefaults = z
  .object({
    objective: z.number().gt(0).lt(1, 'a ratio below 1, such as 0.999').optional(),
    min_events: z.number().int().min(0).optional(),
  })
  .strict()
  .default({})

const tierSchema = z.object({ meaning: z.string().min(1), slo: sloDefaults }).strict()

/** What each tier means when catalog.yaml does not say otherwise (docs/governance.md). */
export const DEFAULT_TIERS: Record<Tier, z.output<typeof tierSchema>> = {
  1: {
    meaning: 'Revenue stops or customers notice within minutes: page at any hour.',
    slo: { objective: 0.999 },
  },
  2: {
    meaning: 'Business-critical within hours: page in business hours, ticket at night.',
    slo: { objective: 0.995 },
  },
  3: { meaning: 'Important, can wait until the next business day: ticket.', slo: { objective: 0.99 } },
  4: { meaning: 'Best effort: reporting and housekeeping.', slo: { objective: 0.95 } },
}

const PER_MS = { minute: MINUTE_MS, hour: HOUR_MS, day: DAY_MS } as const

const integrationSchema = z
  .object({
    name: z.string().min(1),
    kind: z.enum(KINDS),
    owner,
    domain: z.enum(DOMAINS),
    tier: z.union(TIERS.map((t) => z.literal(t))),
    latency: z.enum(LATENCY_CLASSES),
    /** A cron expression, for `latency: batch`: when the job is expected to run. */
    schedule: z.string().min(1).optional(),
    pattern: z.enum(PATTERNS),
    expected_volume: z
      .object({
        count: z.number().positive(),
        per: z.enum(['minute', 'hour', 'day']),
        unit: z.string().min(1),
      })
      .strict(),
    failure_impact: z.string().min(1),
    /** The flows it carries: alerts on these flows get its team and tier when no connector says more. */
    flows: names,
    /**
     * How telemetry names it. Unset: a connector with this id (service `connector-<id>`, events from
     * `urn:signalbox:connector:<id>`), or a service of this name.
     */
    telemetry: z
      .object({ connectors: names, services: names, sources: names, jobs: names })
      .strict()
      .optional(),
  })
  .strict()

const fileSchema = z
  .object({
    tiers: z.partialRecord(z.enum(['1', '2', '3', '4']), tierSchema).default({}),
    /** How long after a change an alert that fires names it in its reason. */
    change_window: durationSetting.default(30 * MINUTE_MS),
    integrations: z.record(id, integrationSchema).default({}),
    /**
     * Retail systems the integrations call (ERP, WMS, channels): owned, so not unowned, but not
     * integrations themselves.
     */
    systems: z.record(id, z.object({ owner, services: names }).strict()).default({}),
  })
  .strict()

export interface TelemetryNames {
  readonly connectors: readonly string[]
  readonly services: readonly string[]
  readonly sources: readonly string[]
  readonly jobs: readonly string[]
}

export interface Integration {
  readonly id: string
  readonly name: string
  readonly kind: (typeof KINDS)[number]
  readonly owner: { readonly team: string; readonly contact: string }
  readonly domain: (typeof DOMAINS)[number]
  readonly tier: Tier
  readonly latency: { readonly class: (typeof LATENCY_CLASSES)[number]; readonly schedule?: string }
  readonly pattern: (typeof PATTERNS)[number]
  readonly expectedVolume: {
    readonly count: number
    readonly per: keyof typeof PER_MS
    readonly unit: string
    readonly perHour: number
  }
  readonly failureImpact: string
  readonly flows: readonly string[]
  readonly telemetry: TelemetryNames
}

export interface TierDefinition {
  readonly tier: Tier
  readonly meaning: string
  readonly slo: { readonly objective?: number; readonly minEvents?: number }
}

export interface Catalog {
  readonly tiers: readonly TierDefinition[]
  readonly changeWindowMs: number
  readonly integrations: readonly Integration[]
  readonly systems: ReadonlyArray<{
    readonly id: string
    readonly owner: Integration['owner']
    readonly services: readonly string[]
  }>
}

export const EMPTY_CATALOG: Catalog = {
  tiers: TIERS.map((tier) => ({
    tier,
    meaning: DEFAULT_TIERS[tier].meaning,
    slo: { objective: DEFAULT_TIERS[tier].slo.objective },
  })),
  changeWindowMs: 30 * MINUTE_MS,
  integrations: [],
  systems: [],
}

/** The event source the connector SDK sends from (connectors/sdk/connector.ts). */
export const connectorSource = (connector: string) => `urn:signalbox:connector:${connector}`

function telemetryNames(
  integrationId: string,
  kind: Integration['kind'],
  t: Partial<TelemetryNames> | undefined,
) {
  if (t)
    return {
      connectors: t.connectors ?? [],
      services: t.services ?? [],
      sources: t.sources ?? [],
      jobs: t.jobs ?? [],
    }
  if (kind === 'connector')
    return {
      connectors: [integrationId],
      services: [`connector-${integrationId}`],
      sources: [connectorSource(integrationId)],
      jobs: [],
    }
  if (kind === 'batch_job')
    return { connectors: [], services: [integrationId], sources: [], jobs: [integrationId] }
  return { connectors: [], services: [integrationId], sources: [], jobs: [] }
}

function validCron(expression: string): boolean {
  try {
    new Cron(expression, { paused: true })
    return true
  } catch {
    return false
  }
}

/**
 * Reads `catalog.yaml` from the configuration directory; without one, the catalog is empty (every
 * integration is then unowned, and SLOs set their own objectives). Flows are checked against
 * `flows.yaml`, schedules are checked as cron expressions, and one telemetry name belongs to one entry.
 */
export function loadCatalog(configDir: string, flows?: ReadonlyMap<string, FlowDefinition>): Catalog {
  const file = join(configDir, 'catalog.yaml')
  if (!existsSync(file)) return EMPTY_CATALOG
  const parsed = readYamlConfig(file, fileSchema, (f) => {
    const problems: Array<{ path: Array<string | number>; message: string }> = []
    const claimed = new Map<string, string>()
    for (const [name, i] of Object.entries(f.integrations)) {
      if (i.latency === 'batch' && !i.schedule)
        problems.push({
          path: ['integrations', name, 'schedule'],
          message: 'a batch integration needs its schedule (cron)',
        })
      if (i.schedule && !validCron(i.schedule))
        problems.push({
          path: ['integrations', name, 'schedule'],
          message: `'${i.schedule}' is not a cron expression`,
        })
      if (i.schedule && i.latency !== 'batch')
        problems.push({
          path: ['integrations', name, 'schedule'],
          message: 'only a batch integration has a schedule',
        })
      for (const [j, flow] of i.flows.entries())
        if (flows && !flows.has(flow))
          problems.push({
            path: ['integrations', name, 'flows', j],
            message: `no flow '${flow}' in flows.yaml`,
          })
      const names = telemetryNames(name, i.kind, i.telemetry)
      for (const [what, list] of Object.entries(names))
        for (const n of list) {
          const key = `${what}:${n}`
          const other = claimed.get(key)
          if (other && other !== name)
            problems.push({
              path: ['integrations', name, 'telemetry', what],
              message: `'${n}' already belongs to ${other}`,
            })
          claimed.set(key, name)
        }
    }
    return problems
  })
  return {
    tiers: TIERS.map((tier) => {
      const t = parsed.tiers[String(tier) as '1'] ?? DEFAULT_TIERS[tier]
      return { tier, meaning: t.meaning, slo: { objective: t.slo.objective, minEvents: t.slo.min_events } }
    }),
    changeWindowMs: parsed.change_window,
    integrations: Object.entries(parsed.integrations).map(([integrationId, i]) => ({
      id: integrationId,
      name: i.name,
      kind: i.kind,
      owner: i.owner,
      domain: i.domain,
      tier: i.tier,
      latency: { class: i.latency, ...(i.schedule ? { schedule: i.schedule } : {}) },
      pattern: i.pattern,
      expectedVolume: {
        ...i.expected_volume,
        perHour: (i.expected_volume.count * HOUR_MS) / PER_MS[i.expected_volume.per],
      },
      failureImpact: i.failure_impact,
      flows: i.flows,
      telemetry: telemetryNames(integrationId, i.kind, i.telemetry),
    })),
    systems: Object.entries(parsed.systems).map(([systemId, s]) => ({
      id: systemId,
      owner: s.owner,
      services: s.services.length > 0 ? s.services : [systemId],
    })),
  }
}

export type TelemetryKind = 'connector' | 'service' | 'source' | 'job'
const LIST_OF: Record<TelemetryKind, keyof TelemetryNames> = {
  connector: 'connectors',
  service: 'services',
  source: 'sources',
  job: 'jobs',
}

/** The catalog entry telemetry names (a connector, service, event source or batch job), if any. */
export function integrationOf(catalog: Catalog, kind: TelemetryKind, name: string): Integration | undefined {
  return catalog.integrations.find((i) => i.telemetry[LIST_OF[kind]].includes(name))
}

/** Whether the catalog owns a name seen in telemetry: an integration's, or a known system's service. */
export function isOwned(catalog: Catalog, kind: TelemetryKind, name: string): boolean {
  if (integrationOf(catalog, kind, name)) return true
  if (kind === 'service') return catalog.systems.some((s) => s.services.includes(name))
  // The deploy pipeline and Signalbox's own sources are not integrations.
  return false
}

/**
 * The integration an alert is about, from its labels: its connector, else the most critical entry
 * carrying its flow. Alerts on a system or channel alone belong to no one integration.
 */
export function integrationForLabels(
  catalog: Catalog,
  labels: Readonly<Record<string, string>>,
): Integration | undefined {
  if (labels.connector) {
    const byConnector = integrationOf(catalog, 'connector', labels.connector)
    if (byConnector) return byConnector
  }
  if (labels.integration) {
    const named = catalog.integrations.find((i) => i.id === labels.integration)
    if (named) return named
  }
  if (labels.flow)
    return mostCritical(catalog.integrations.filter((i) => i.flows.includes(labels.flow as string)))
  return undefined
}

/** The most critical (lowest tier number) of some integrations; the first on a tie. */
export function mostCritical(list: readonly Integration[]): Integration | undefined {
  return list.reduce<Integration | undefined>(
    (best, i) => (!best || i.tier < best.tier ? i : best),
    undefined,
  )
}

export const tierOf = (catalog: Catalog, tier: Tier): TierDefinition =>
  catalog.tiers.find((t) => t.tier === tier) as TierDefinition
