import { type SloDefinition, sloLabels } from '../alerts/spec.ts'
import { labelsInScope, requireSources, type Scope, within } from '../auth/scope.ts'
import type { Config } from '../core/config.ts'
import type { FlowDefinition } from '../core/flows.ts'
import type { Store } from '../store/client.ts'
import { type RegisteredConnector, registeredConnectors } from '../store/queries/connectors.ts'
import { entitiesTouchedBy, entityChannels } from '../store/queries/entities.ts'
import { type TraceFacts, traceFacts } from '../store/queries/traces.ts'
import { lookback } from './params.ts'

export interface VisibilityDeps {
  readonly store: Store
  readonly flows: ReadonlyMap<string, FlowDefinition>
  readonly slos: readonly SloDefinition[]
  readonly config: Pick<Config, 'query'>
}

export interface EntityRef {
  readonly type: string
  readonly id: string
}

/** The scope dimensions an entity check applies; all three unless a caller says otherwise. */
export type Dimension = 'flows' | 'channels' | 'systems'
const ALL: readonly Dimension[] = ['flows', 'channels', 'systems']

/**
 * Entity types every channel shares: a SKU is stock at the source of truth, whatever channel sells
 * it. A channel scope narrows what channels were told about it (their publications), not the SKU.
 */
const SHARED_BY_CHANNELS = new Set(['sku'])

/** What a business event, a stock event or a span says about itself, for a scope to judge it by. */
export interface EventFacts {
  readonly entities: ReadonlyArray<readonly [string, string]>
  readonly system: string
  readonly flow: string
  readonly data: string
  readonly extensions: Readonly<Record<string, string>>
}

/** The channel an event names itself: `data.channel` or the `channel` extension (empty: none). */
export function channelOf(e: Pick<EventFacts, 'data' | 'extensions'>): string {
  if (e.extensions.channel) return e.extensions.channel
  if (!e.data.includes('"channel"')) return ''
  try {
    const data = JSON.parse(e.data) as unknown
    const channel = data && typeof data === 'object' ? (data as Record<string, unknown>).channel : undefined
    return typeof channel === 'string' ? channel : ''
  } catch {
    return ''
  }
}

const key = (r: EntityRef) => `${r.type}\u0000${r.id}`

/** The rows a scoped read looks at to fill one page after narrowing: a bound, so a read stays cheap. */
const SCOPED_READ_ROWS = 2000

/**
 * What one request's scope lets it see. Every answer that holds entity data is narrowed through
 * this (see `scoped` in api/policy.ts), so each scope dimension means the same on every route:
 *
 * - **flows**: a flow outside them is refused; an entity is seen when a flow of its type is in
 *   scope; an exception, SLO or alert by its flow.
 * - **channels**: an order or return (any entity of a flow) is seen when the event that started its
 *   flow came in through a scoped channel; SKUs are shared by all channels, but what other channels
 *   were told about them is not shown; an event that names a channel must name a scoped one.
 * - **systems**: an entity is seen when a scoped system touched it, a trace when one took part, an
 *   exception, replay or connector when its connector is one of the systems' connectors.
 *
 * An entity type no flow covers belongs to no flow and came through no channel: a token limited in
 * those dimensions does not see it. Every check is free for an unlimited request.
 */
export class Visibility {
  /** Does the scope limit what can be read (ingestion keys' `sources` limit writes only)? */
  readonly limited: boolean
  /** The connector registry, read once per request whoever asks first (alerts, connector ids). */
  #registered?: Promise<ReadonlyMap<string, RegisteredConnector>>

  constructor(
    readonly scope: Scope,
    readonly deps: VisibilityDeps,
  ) {
    this.limited = Boolean(scope.flows || scope.channels || scope.systems)
  }

  flow(name: string): boolean {
    return within(this.scope.flows, name)
  }

  system(name: string): boolean {
    return within(this.scope.systems, name)
  }

  channel(name: string): boolean {
    return within(this.scope.channels, name)
  }

  /** Refuses a write naming a source an ingestion key may not write for. */
  requireSources(seen: Iterable<string>): void {
    requireSources(this.scope.sources, seen)
  }

  /** A filter the caller asked for, narrowed to a dimension of the scope: the scope alone when not asked. */
  narrowed(dimension: Dimension, asked: string | undefined): readonly string[] | undefined {
    const allowed = this.scope[dimension]
    if (asked === undefined) return allowed
    return within(allowed, asked) ? [asked] : []
  }

  /** The flows in scope, configured order. */
  flows(): FlowDefinition[] {
    return [...this.deps.flows.values()].filter((f) => this.flow(f.name))
  }

  /** Labels (an SLO's, an alert's, a silence's) whose `flow`, `system` and `channel` are in scope. */
  labels(labels: Readonly<Record<string, string>>): boolean {
    return labelsInScope(this.scope, labels)
  }

  /** An SLO by its labels; a freshness SLI also by the channels it measures. */
  slo(slo: SloDefinition): boolean {
    const channels = slo.sli.kind === 'freshness' ? slo.sli.channels : []
    return this.labels(sloLabels(slo)) && channels.every((c) => this.channel(c))
  }

  /** An alert by its labels, and by its SLO when it has one. */
  alert(a: { readonly labels: Readonly<Record<string, string>> }): boolean {
    const slo = a.labels.slo === undefined ? undefined : this.deps.slos.find((s) => s.id === a.labels.slo)
    return this.labels(a.labels) && (slo === undefined || this.slo(slo))
  }

  /**
   * Which alerts the scope sees: by labels and SLO (`alert`), and an alert about one connector (a
   * `connector` label: connector_down, exceptions piling up) by that connector, as the connectors list
   * judges it. Its labels name no flow or system, so alone they let every flow and system scope see
   * it; a connector the registry does not know is outside a flow or system scope.
   */
  async alerts(): Promise<(a: { readonly labels: Readonly<Record<string, string>> }) => boolean> {
    if (this.scope.flows === undefined && this.scope.systems === undefined) return (a) => this.alert(a)
    const registered = await this.registered()
    return (a) => {
      if (!this.alert(a)) return false
      const id = a.labels.connector
      if (id === undefined) return true
      const connector = registered.get(id)
      return connector !== undefined && this.connector(connector)
    }
  }

  /** A connector by its system and (when the scope limits flows) the flows it serves. */
  connector(c: { readonly system: string; readonly flows?: readonly string[] }): boolean {
    return (
      this.system(c.system) && (this.scope.flows === undefined || (c.flows ?? []).some((f) => this.flow(f)))
    )
  }

  /**
   * How many rows a list read should look at to fill a page of `limit` after narrowing: the page
   * itself when nothing is narrowed, else at least `atLeast` (a bound, so the read stays cheap).
   */
  readRows(limit: number, atLeast = SCOPED_READ_ROWS): number {
    return this.limited ? Math.max(limit, atLeast) : limit
  }

  /** The ids of the connectors of the scoped systems (undefined: systems are not limited). */
  async connectorIds(): Promise<readonly string[] | undefined> {
    const systems = this.scope.systems
    if (systems === undefined) return undefined
    return [...(await this.registered()).values()].filter((c) => within(systems, c.system)).map((c) => c.id)
  }

  private registered(): Promise<ReadonlyMap<string, RegisteredConnector>> {
    this.#registered ??= registeredConnectors(this.deps.store).then(
      (all) => new Map(all.map((c) => [c.id, c])),
    )
    return this.#registered
  }

  /** Exceptions as a store filter: of the scoped flows and the scoped systems' connectors. */
  async exceptionFilter(): Promise<{ flows?: readonly string[]; connectors?: readonly string[] }> {
    if (!this.limited) return {}
    return { flows: this.scope.flows, connectors: await this.connectorIds() }
  }

  /**
   * Which of these entities the scope sees (see the class comment): one read of the entity index
   * for the systems and one of the events for the channels, per entity type, whatever the count.
   */
  async entities(refs: Iterable<EntityRef>, dimensions = ALL): Promise<(ref: EntityRef) => boolean> {
    if (!this.limited) return () => true
    const byType = new Map<string, Set<string>>()
    for (const r of refs) byType.set(r.type, (byType.get(r.type) ?? new Set()).add(r.id))
    const { flows, channels, systems } = this.scope
    const seen = new Set<string>()
    const range = lookback(this.deps.config)
    for (const [type, idSet] of byType) {
      const ofType = [...this.deps.flows.values()].filter((f) => f.entity === type)
      if (dimensions.includes('flows') && flows && !ofType.some((f) => within(flows, f.name))) continue
      let ids = [...idSet]
      if (dimensions.includes('systems') && systems && ids.length > 0) {
        const touched = await entitiesTouchedBy(this.deps.store, type, ids, systems, range)
        ids = ids.filter((id) => touched.has(id))
      }
      if (dimensions.includes('channels') && channels && !SHARED_BY_CHANNELS.has(type) && ids.length > 0) {
        const entryTypes = [...new Set(ofType.flatMap((f) => f.stages[0]?.events ?? []))]
        const entered = await entityChannels(this.deps.store, entryTypes, ids, range)
        ids = ids.filter((id) => within(channels, entered.get(id) ?? 'unknown'))
      }
      for (const id of ids) seen.add(key({ type, id }))
    }
    return (ref) => seen.has(key(ref))
  }

  async entity(ref: EntityRef, dimensions = ALL): Promise<boolean> {
    return (await this.entities([ref], dimensions))(ref)
  }

  /** Keeps the items whose entities (all of them, for a list of entities per item) are in scope. */
  async keepEntities<T>(items: readonly T[], refsOf: (item: T) => readonly EntityRef[], dimensions = ALL) {
    if (!this.limited) return [...items]
    const visible = await this.entities(
      items.flatMap((i) => refsOf(i)),
      dimensions,
    )
    return items.filter((i) => refsOf(i).every(visible))
  }

  /**
   * Business events (or stock events) the scope sees: an event that names a channel must name a
   * scoped one, and every entity it names must be in scope; one that names no entity is seen when
   * each limited dimension is met by the event itself (its flow, its system, its channel).
   */
  async events<T extends EventFacts>(rows: readonly T[]): Promise<T[]> {
    if (!this.limited) return [...rows]
    const refs = (e: T) => e.entities.map(([type, id]) => ({ type, id }))
    const visible = await this.entities(rows.flatMap(refs))
    const { flows, channels, systems } = this.scope
    return rows.filter((e) => {
      const channel = channelOf(e)
      if (channel && !within(channels, channel)) return false
      if (e.entities.length > 0) return refs(e).every(visible)
      return (
        (!flows || (e.flow !== '' && within(flows, e.flow))) &&
        (!systems || (e.system !== '' && within(systems, e.system))) &&
        (!channels || channel !== '')
      )
    })
  }

  /**
   * Which of these traces the scope sees (one read for all): with systems limited, one of them took
   * part; every flow the spans name is in scope; every entity they name is in scope by flow and
   * channel; and with flows or channels limited, the trace must name something that ties it to them
   * (an entity, or a flow). A trace not found is not seen.
   */
  async traceIds(ids: Iterable<string>): Promise<Set<string>> {
    const unique = [...new Set(ids)]
    if (!this.limited) return new Set(unique)
    const facts = await traceFacts(this.deps.store, unique)
    const named = (f: TraceFacts) => f.entities.map(([type, id]) => ({ type, id }))
    const visible = await this.entities([...facts.values()].flatMap(named), ['flows', 'channels'])
    const { flows, channels, systems } = this.scope
    const seen = (f: TraceFacts) => {
      const spanFlows = f.flows.filter((x) => x !== '')
      if (
        systems &&
        !f.systems.some((x) => within(systems, x)) &&
        !f.services.some((x) => within(systems, x))
      )
        return false
      if (flows && !spanFlows.every((x) => within(flows, x))) return false
      if (flows && f.entities.length === 0 && spanFlows.length === 0) return false
      if (channels && f.entities.length === 0) return false
      return named(f).every(visible)
    }
    return new Set(unique.filter((id) => facts.has(id) && seen(facts.get(id) as TraceFacts)))
  }

  async trace(id: string): Promise<boolean> {
    return (await this.traceIds([id])).has(id)
  }

  /** An exception: its flow, its connector's system, and its entity by channel. */
  async exceptions<T extends { flow: string; connector: string; entity_type: string; entity_id: string }>(
    rows: readonly T[],
  ): Promise<T[]> {
    if (!this.limited) return [...rows]
    const connectors = await this.connectorIds()
    const inScope = rows.filter((e) => this.flow(e.flow) && within(connectors, e.connector))
    // Its own flow says which flow it belongs to: the entity is judged by channel alone.
    return this.keepEntities(inScope, (e) => [{ type: e.entity_type, id: e.entity_id }], ['channels'])
  }

  /** A replay or re-sync: its connector's system, and its entity by flow and channel. */
  async replays<T extends { connector: string; entity_type: string; entity_id: string }>(
    rows: readonly T[],
  ): Promise<T[]> {
    if (!this.limited) return [...rows]
    const connectors = await this.connectorIds()
    const inScope = rows.filter((r) => within(connectors, r.connector))
    return this.keepEntities(inScope, (r) => [{ type: r.entity_type, id: r.entity_id }], [
      'flows',
      'channels',
    ])
  }

  /**
   * Does a thing made under `made` (a bulk replay job, by its creator's scope) lie within this
   * scope? Each dimension this scope limits must be limited there too, to a part of it.
   */
  contains(made: Scope): boolean {
    const dims: Dimension[] = ['flows', 'channels', 'systems']
    return dims.every((d) => {
      const mine = this.scope[d]
      return mine === undefined || (made[d]?.every((x) => mine.includes(x)) ?? false)
    })
  }

  /**
   * A silence is shown when the labels its `=` matchers pin (and its SLO's, for an `slo =` matcher)
   * are in scope. A scoped token may only make or end one that is confined to its scope: each
   * dimension it is limited in is pinned to a value in scope, so it silences nothing outside.
   */
  silence(matchers: ReadonlyArray<{ name: string; op: string; value: string }>): {
    visible: boolean
    confined: boolean
  } {
    const pinned: Record<string, string> = {}
    for (const m of matchers) if (m.op === '=') pinned[m.name] = m.value
    const slo = pinned.slo === undefined ? undefined : this.deps.slos.find((s) => s.id === pinned.slo)
    const labels = { ...(slo ? sloLabels(slo) : {}), ...pinned }
    const visible = this.labels(labels) && (slo === undefined || this.slo(slo))
    const label = { flows: 'flow', channels: 'channel', systems: 'system' } as const
    const confined =
      visible &&
      (['flows', 'channels', 'systems'] as const).every(
        (d) => this.scope[d] === undefined || labels[label[d]] !== undefined,
      )
    return { visible, confined }
  }
}
