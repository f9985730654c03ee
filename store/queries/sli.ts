import type { Store } from '../client.ts'
import { type Fragment, sql, typed } from '../sql.ts'
import type { FlowShape } from './flow-stages.ts'

/**
 * Each SLI kind's settings as the store computes it: which events count, and which of them are good.
 * A new kind starts here; the compiler then asks for its entry in `SLI_KINDS` (alerts/sli-kinds.ts):
 * its `slos.yaml` schema, its query (an `SliQuery`) and how the api shows it.
 */
export interface SliSettings {
  flow_latency: { flow: FlowShape; fromStage: number; toStage: number; withinMs: number }
  flow_completion: { flow: FlowShape; withinMs: number }
  connector_success: { connector?: string; system?: string }
  freshness: { channels: readonly string[]; withinMs: number }
  absence: { source?: string; system?: string; location?: string; withinMs: number }
}

export type SliKind = keyof SliSettings

/** An SLI of kind `K` (of any kind by default), tagged with its kind. */
export type Sli<K extends SliKind = SliKind> = { [P in K]: { kind: P } & SliSettings[P] }[K]

export interface WindowCounts {
  readonly windowMs: number
  readonly good: number
  readonly total: number
}

export interface SliBucket {
  readonly bucket: string
  readonly good_events: string
  readonly total_events: string
}

export interface BadEvent {
  /** The entity (order, return, SKU; or a trace id) the event is about, and what else identifies it. */
  readonly subject: string
  readonly subject_kind: string
  readonly detail: string
  readonly at_ms: string
  readonly late_ms: string
}

/** How the store reads one kind of SLI. */
export interface SliQuery<K extends SliKind> {
  /** Rows (at_ms, good, subject, subject_kind, detail, late_ms): the SLI's events whose time falls in [since, until). */
  events(store: Store, sli: Sli<K>, since: Date, until: Date): Promise<Fragment>
  /** Good and total events in each window ending at `now`. */
  counts(store: Store, sli: Sli<K>, windowsMs: readonly number[], now: Date): Promise<WindowCounts[]>
  /** Good and total events per step, oldest first: the SLI and the budget over time. */
  series(store: Store, sli: Sli<K>, since: Date, until: Date, stepMs: number): Promise<SliBucket[]>
  /** The events in [since, until) that burned the budget, latest first: the entities behind the number. */
  bad(store: Store, sli: Sli<K>, since: Date, until: Date, limit: number): Promise<BadEvent[]>
}

/**
 * The range an SLI's events are read over: events whose time falls in [since, until), from what
 * happened since `from` (`since` less the SLI's `withinMs`: an event counts at its deadline).
 */
export interface SliRange {
  readonly since: Date
  readonly until: Date
  readonly from: Date
}

/** The rows of `events` whose time falls in [since, until). */
export const inRange = (events: Fragment, since: Date, until: Date) =>
  sql`SELECT * FROM (${events}) WHERE at_ms >= ${since.getTime()} AND at_ms < ${until.getTime()}`

/** Good and total events in each window ending at `now`, from one scan of `events` (the longest window's). */
async function countsOf(
  store: Store,
  events: Fragment,
  windowsMs: readonly number[],
  now: Date,
): Promise<WindowCounts[]> {
  const nowMs = now.getTime()
  const windows = typed(windowsMs, 'Array(Int64)')
  const [row] = await store.query<{ totals: string[]; goods: string[] }>(sql`
    SELECT sumForEach(arrayMap(w -> toUInt64(at_ms >= ${nowMs} - w), ${windows})) AS totals,
      sumForEach(arrayMap(w -> toUInt64(at_ms >= ${nowMs} - w AND good), ${windows})) AS goods
    FROM (${events})`)
  return windowsMs.map((windowMs, i) => ({
    windowMs,
    good: Number(row?.goods?.[i] ?? 0),
    total: Number(row?.totals?.[i] ?? 0),
  }))
}

/** Good and total events of `events` per step, oldest first. */
export function seriesOf(store: Store, events: Fragment, stepMs: number): Promise<SliBucket[]> {
  return store.query<SliBucket>(sql`
    SELECT intDiv(at_ms, ${stepMs}) * ${stepMs} AS bucket, sum(good) AS good_events, count() AS total_events
    FROM (${events})
    GROUP BY bucket ORDER BY bucket`)
}

/** The bad events among `events`, latest first. */
export function badOf(store: Store, events: Fragment, limit: number): Promise<BadEvent[]> {
  return store.query<BadEvent>(sql`
    SELECT subject, subject_kind, detail, toString(at_ms) AS at_ms, toString(late_ms) AS late_ms
    FROM (${events})
    WHERE good = 0
    ORDER BY at_ms DESC
    LIMIT ${limit}`)
}

/**
 * The query of an SLI whose events are read from the telemetry each time: counts, series and the
 * bad events all come from `read`.
 */
export function eventSli<K extends SliKind>(
  read: (store: Store, sli: Sli<K>, range: SliRange) => Promise<Fragment> | Fragment,
): SliQuery<K> {
  const events = async (store: Store, sli: Sli<K>, since: Date, until: Date) => {
    const from = new Date(since.getTime() - ('withinMs' in sli ? sli.withinMs : 0))
    return inRange(await read(store, sli, { since, until, from }), since, until)
  }
  return {
    events,
    counts: async (store, sli, windowsMs, now) =>
      countsOf(
        store,
        await events(store, sli, new Date(now.getTime() - Math.max(...windowsMs)), now),
        windowsMs,
        now,
      ),
    series: async (store, sli, since, until, stepMs) =>
      seriesOf(store, await events(store, sli, since, until), stepMs),
    bad: async (store, sli, since, until, limit) =>
      badOf(store, await events(store, sli, since, until), limit),
  }
}
