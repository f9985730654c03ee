import { z } from 'zod'
import { durationSetting } from '../core/duration.ts'
import { type FlowDefinition, flowShape } from '../core/flows.ts'
import type { Store } from '../store/client.ts'
import { connectorSuccess } from '../store/queries/connector-success.ts'
import type { BadEvent, Sli, SliBucket, SliKind, SliQuery, WindowCounts } from '../store/queries/sli.ts'
import { absence, flowCompletion, flowLatency, freshness } from '../store/queries/sli-events.ts'
import type { Fragment } from '../store/sql.ts'

type Flows = ReadonlyMap<string, FlowDefinition>

export interface Problem {
  readonly path: string[]
  readonly message: string
}

/** How the api shows an indicator's scope, besides its kind and `withinMs`. */
type IndicatorView = Readonly<Record<string, string | number | readonly string[] | null>>

/** One SLI kind (issue 6): what counts as a good event and when it counts, from `slos.yaml` to the api. */
export interface SliKindSpec<K extends SliKind> {
  /** The settings under the kind's key in `slos.yaml`. */
  readonly schema: z.ZodType
  /** References in the parsed settings checked against flows.yaml (paths under the kind's key). */
  check(settings: unknown, flows: Flows): Problem[]
  /** The SLI from checked settings: stage names become positions in the flow here, once. */
  build(settings: unknown, flows: Flows): Sli<K>
  /** The labels every alert of such an SLO carries, for routing, silences and token scopes. */
  labels(sli: Sli<K>): Record<string, string>
  view(sli: Sli<K>): IndicatorView
  readonly query: SliQuery<K>
}

/**
 * A registry entry, typed by its schema where it is written; the registry holds settings as
 * `unknown`, which only that schema produces.
 */
function sliKind<K extends SliKind, S extends z.ZodType>(spec: {
  schema: S
  check?: (settings: z.output<S>, flows: Flows) => Problem[]
  build: (settings: z.output<S>, flows: Flows) => Sli<K>
  labels: (sli: Sli<K>) => Record<string, string>
  view: (sli: Sli<K>) => IndicatorView
  query: SliQuery<K>
}): SliKindSpec<K> {
  return {
    ...spec,
    check: (settings, flows) => spec.check?.(settings as z.output<S>, flows) ?? [],
    build: (settings, flows) => spec.build(settings as z.output<S>, flows),
  }
}

const name = z.string().regex(/^[a-z][a-z0-9_]*$/, 'lower-case letters, digits and underscores')

const unknownFlow = (flowName: string, flows: Flows): Problem[] =>
  flows.has(flowName)
    ? []
    : [{ path: ['flow'], message: `no flow '${flowName}' in flows.yaml (${[...flows.keys()].join(', ')})` }]

/** Every SLI kind, by its key in `slos.yaml`. The compiler asks for one entry per kind in `SliSettings`. */
export const SLI_KINDS: { [K in SliKind]: SliKindSpec<K> } = {
  flow_latency: sliKind({
    schema: z.object({ flow: name, from: name, to: name, within: durationSetting }).strict(),
    check: (s, flows) => {
      const flow = flows.get(s.flow)
      if (!flow) return unknownFlow(s.flow, flows)
      const stages = flow.stages.map((stage) => stage.name)
      const from = stages.indexOf(s.from)
      const to = stages.indexOf(s.to)
      return [
        ...(from < 0 ? [{ path: ['from'], message: `no stage '${s.from}' in ${flow.name}` }] : []),
        ...(to < 0 ? [{ path: ['to'], message: `no stage '${s.to}' in ${flow.name}` }] : []),
        ...(from >= 0 && to >= 0 && to <= from
          ? [{ path: ['to'], message: `'${s.to}' must come after '${s.from}'` }]
          : []),
      ]
    },
    build: ({ flow, from, to, within }, flows) => {
      const definition = flows.get(flow) as FlowDefinition
      const stages = definition.stages.map((s) => s.name)
      return {
        kind: 'flow_latency',
        flow: flowShape(definition),
        fromStage: stages.indexOf(from) + 1,
        toStage: stages.indexOf(to) + 1,
        withinMs: within,
      }
    },
    labels: (sli) => ({ flow: sli.flow.name }),
    view: (sli) => ({ flow: sli.flow.name, from: sli.fromStage, to: sli.toStage }),
    query: flowLatency,
  }),
  flow_completion: sliKind({
    schema: z.object({ flow: name, within: durationSetting }).strict(),
    check: (s, flows) => unknownFlow(s.flow, flows),
    build: (s, flows) => ({
      kind: 'flow_completion',
      flow: flowShape(flows.get(s.flow) as FlowDefinition),
      withinMs: s.within,
    }),
    labels: (sli) => ({ flow: sli.flow.name }),
    view: (sli) => ({ flow: sli.flow.name }),
    query: flowCompletion,
  }),
  connector_success: sliKind({
    schema: z
      .object({ connector: z.string().min(1).optional(), system: z.string().min(1).optional() })
      .strict()
      .refine((c) => Boolean(c.connector) !== Boolean(c.system), 'exactly one of connector or system'),
    build: (s) => ({ kind: 'connector_success', ...s }),
    labels: (sli) => ({
      ...(sli.connector ? { connector: sli.connector } : {}),
      ...(sli.system ? { system: sli.system } : {}),
    }),
    view: (sli) => ({ connector: sli.connector ?? null, system: sli.system ?? null }),
    query: connectorSuccess,
  }),
  freshness: sliKind({
    schema: z.object({ channels: z.array(z.string().min(1)).min(1), within: durationSetting }).strict(),
    build: (s) => ({ kind: 'freshness', channels: s.channels, withinMs: s.within }),
    labels: () => ({}),
    view: (sli) => ({ channels: sli.channels }),
    query: freshness,
  }),
  absence: sliKind({
    schema: z
      .object({
        source: z.string().min(1).optional(),
        system: z.string().min(1).optional(),
        location: z.string().min(1).optional(),
        within: durationSetting,
      })
      .strict()
      .refine((a) => a.source || a.system || a.location, 'one of source, system or location'),
    build: ({ within, ...where }) => ({ kind: 'absence', ...where, withinMs: within }),
    labels: (sli) => ({ ...(sli.system ? { system: sli.system } : {}) }),
    view: (sli) => ({
      source: sli.source ?? null,
      system: sli.system ?? null,
      location: sli.location ?? null,
    }),
    query: absence,
  }),
}

/** The registry entry of an SLI's kind. */
export const kindOf = <K extends SliKind>(sli: Sli<K>): SliKindSpec<K> => SLI_KINDS[sli.kind as K]

/** Rows (at_ms, good, subject, subject_kind, detail, late_ms): the SLI's events whose time falls in [since, until). */
export const sliEvents = (store: Store, sli: Sli, since: Date, until: Date): Promise<Fragment> =>
  kindOf(sli).query.events(store, sli, since, until)

/** Good and total events in each window ending at `now`. */
export const sliCounts = (
  store: Store,
  sli: Sli,
  windowsMs: readonly number[],
  now: Date,
): Promise<WindowCounts[]> => kindOf(sli).query.counts(store, sli, windowsMs, now)

/** Good and total events per step, oldest first: the SLI and the budget over time. */
export const sliSeries = (
  store: Store,
  sli: Sli,
  since: Date,
  until: Date,
  stepMs: number,
): Promise<SliBucket[]> => kindOf(sli).query.series(store, sli, since, until, stepMs)

/** The events that burned the budget, latest first: the entities behind the number. */
export const badEvents = (
  store: Store,
  sli: Sli,
  since: Date,
  until: Date,
  limit: number,
): Promise<BadEvent[]> => kindOf(sli).query.bad(store, sli, since, until, limit)
