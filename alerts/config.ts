import { join } from 'node:path'
import { z } from 'zod'
import { durationSetting, HOUR_MS, MINUTE_MS } from '../core/duration.ts'
import type { FlowDefinition } from '../core/flows.ts'
import { readYamlConfig } from '../core/yaml-config.ts'
import { type Matcher, matcherSchema } from './matchers.ts'
import { checkRule, type RuleOfKind, ruleOfKind, ruleSchema } from './rules.ts'

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name')
const severity = z.enum(['page', 'ticket'])

/**
 * Secrets (signing keys, routing keys, Slack URLs, SMTP credentials) are named by environment
 * variable, never written in the file, so the file can live in git.
 */
const channelSchema = z.union([
  z
    .object({
      webhook: z
        .object({ url: z.url().optional(), url_env: envName.optional(), secret_env: envName.optional() })
        .strict()
        .refine((w) => Boolean(w.url) !== Boolean(w.url_env), 'exactly one of url or url_env'),
    })
    .strict(),
  z.object({ slack: z.object({ url_env: envName }).strict() }).strict(),
  z
    .object({
      pagerduty: z
        .object({ routing_key_env: envName, url: z.url().default('https://events.pagerduty.com/v2/enqueue') })
        .strict(),
    })
    .strict(),
  z
    .object({
      email: z.object({ smtp_url_env: envName, from: z.email(), to: z.array(z.email()).min(1) }).strict(),
    })
    .strict(),
  z
    .object({
      // An Alertmanager's base address (alerts go to its /api/v2/alerts).
      alertmanager: z
        .object({ url: z.url().optional(), url_env: envName.optional() })
        .strict()
        .refine((a) => Boolean(a.url) !== Boolean(a.url_env), 'exactly one of url or url_env'),
    })
    .strict(),
])

interface RouteConfig {
  receiver?: string
  matchers?: Matcher[]
  group_by?: string[]
  group_wait?: number
  group_interval?: number
  repeat_interval?: number
  continue?: boolean
  routes?: RouteConfig[]
}

const routeSchema: z.ZodType<RouteConfig, unknown> = z.lazy(() =>
  z
    .object({
      receiver: z.string().optional(),
      matchers: z.array(matcherSchema).optional(),
      group_by: z.array(z.string()).optional(),
      group_wait: durationSetting.optional(),
      group_interval: durationSetting.optional(),
      repeat_interval: durationSetting.optional(),
      continue: z.boolean().optional(),
      routes: z.array(routeSchema).optional(),
    })
    .strict(),
)

const fileSchema = z
  .object({
    evaluation: z
      .object({ interval: durationSetting.default(30_000) })
      .strict()
      .default({ interval: 30_000 }),
    route: routeSchema,
    receivers: z.record(z.string().min(1), z.array(channelSchema).min(1)),
    rules: z
      .record(
        z.string().regex(/^[a-z][a-z0-9_]*$/),
        z.intersection(
          ruleSchema,
          z.object({
            severity: severity.default('ticket'),
            for: durationSetting.default(0),
            labels: z.record(z.string(), z.string()).default({}),
          }),
        ),
      )
      .default({}),
  })
  .strict()

export type ChannelConfig = z.output<typeof channelSchema>
export type Severity = z.output<typeof severity>

/** A routing node with its parent's settings filled in, as Alertmanager inherits them. */
export interface Route {
  readonly id: string
  readonly receiver: string
  readonly matchers: readonly Matcher[]
  readonly groupBy: readonly string[]
  readonly groupWaitMs: number
  readonly groupIntervalMs: number
  readonly repeatIntervalMs: number
  readonly continue: boolean
  readonly routes: readonly Route[]
}

/** A threshold rule: one of the kinds in alerts/rules.ts, with its settings. */
export type ThresholdRule = RuleOfKind & {
  readonly name: string
  readonly severity: Severity
  readonly for: number
  readonly labels: Readonly<Record<string, string>>
}

export interface AlertingConfig {
  readonly intervalMs: number
  readonly route: Route
  readonly receivers: ReadonlyMap<string, readonly ChannelConfig[]>
  readonly rules: readonly ThresholdRule[]
}

const ROOT_DEFAULTS = {
  group_by: ['slo', 'rule', 'severity'],
  group_wait: 30_000,
  group_interval: 5 * MINUTE_MS,
  repeat_interval: 4 * HOUR_MS,
}

function resolveRoute(r: RouteConfig, parent: Route | undefined, id: string): Route {
  const route: Route = {
    id,
    receiver: r.receiver ?? parent?.receiver ?? '',
    matchers: r.matchers ?? [],
    groupBy: r.group_by ?? parent?.groupBy ?? ROOT_DEFAULTS.group_by,
    groupWaitMs: r.group_wait ?? parent?.groupWaitMs ?? ROOT_DEFAULTS.group_wait,
    groupIntervalMs: r.group_interval ?? parent?.groupIntervalMs ?? ROOT_DEFAULTS.group_interval,
    repeatIntervalMs: r.repeat_interval ?? parent?.repeatIntervalMs ?? ROOT_DEFAULTS.repeat_interval,
    continue: r.continue ?? false,
    routes: [],
  }
  return { ...route, routes: (r.routes ?? []).map((child, i) => resolveRoute(child, route, `${id}.${i}`)) }
}

function routeProblems(r: RouteConfig, receivers: Set<string>, path: Array<string | number>) {
  const problems: Array<{ path: Array<string | number>; message: string }> = []
  if (r.receiver !== undefined && !receivers.has(r.receiver))
    problems.push({ path: [...path, 'receiver'], message: `no receiver '${r.receiver}' under receivers` })
  for (const [i, child] of (r.routes ?? []).entries())
    problems.push(...routeProblems(child, receivers, [...path, 'routes', i]))
  return problems
}

/** Reads `alerts.yaml`: routing, receivers and threshold rules, checked against the flows. */
export function loadAlerting(configDir: string, flows: ReadonlyMap<string, FlowDefinition>): AlertingConfig {
  const parsed = readYamlConfig(join(configDir, 'alerts.yaml'), fileSchema, (f) => {
    const receivers = new Set(Object.keys(f.receivers))
    const problems = routeProblems(f.route, receivers, ['route'])
    if (!f.route.receiver)
      problems.push({ path: ['route', 'receiver'], message: 'the root route needs a receiver' })
    for (const [name, rule] of Object.entries(f.rules)) {
      const ofKind = ruleOfKind(rule)
      for (const p of checkRule(ofKind, flows))
        problems.push({ path: ['rules', name, ofKind.kind, ...p.path], message: p.message })
    }
    return problems
  })
  return {
    intervalMs: parsed.evaluation.interval,
    route: resolveRoute(parsed.route, undefined, 'root'),
    receivers: new Map(Object.entries(parsed.receivers)),
    rules: Object.entries(parsed.rules).map(([name, rule]) => ({
      ...ruleOfKind(rule),
      name,
      severity: rule.severity,
      for: rule.for,
      labels: rule.labels,
    })),
  }
}
