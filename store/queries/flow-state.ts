import { createHash } from 'node:crypto'
import { LONG_STATEMENT, type Store } from '../client.ts'
import { type Fragment, sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'
import { CHANNEL, entityStages, type FlowShape } from './flow-stages.ts'
import { TALLY_KEY, tallyRows, WAITING_KEY, waitingRows } from './flow-tallies.ts'

/**
 * Per flow, each entity's stage times (what `entityStages` computes by grouping the progress table,
 * the costly part of stuck lists and flow metrics) kept in `flow_entities` and refreshed in the
 * background for the entities whose progress arrived since the last refresh. Reads merge that state
 * with the live rows of the entities changed since its watermark, so they are never stale.
 */

/** Progress may become visible this long after it was received (batching, a busy queue). */
const SLACK_MS = 60_000
const EVER = { since: new Date(0), until: new Date(Date.UTC(2200, 0, 1)) }

/** Past this many changed entities, a read computes the whole flow live instead of merging. */
const MAX_CHANGED = 50_000

/** A flow's latest mark: how far its state is complete, and whether its tallies are written. */
interface Mark {
  readonly watermarkMs: number
  /** The `flow_entities` version the mark commits (0: a mark from before the tallies). */
  readonly stateVersion: bigint
  /** Whether the tallies of `stateVersion` are written (0 while a refresh is under way or was cut off). */
  readonly tallied: boolean
  /** Whether the tallies held the flow before that refresh (if not, it builds them from nothing). */
  readonly incremental: boolean
  /** The fingerprint of the flow's stages the state was built for (`shapeOf`). */
  readonly shape: string
}

/**
 * A fingerprint of what the state's rows mean: the stages' events, which are optional, the terminal
 * events. Another configuration makes every kept row and tally stale: the state is built again.
 */
function shapeOf(flow: FlowShape): string {
  const meaning = JSON.stringify([flow.stageEvents, flow.optionalStages, flow.terminalEvents])
  return createHash('sha256').update(meaning).digest('hex').slice(0, 16)
}

async function latestMark(store: Store, flow: FlowShape): Promise<(Mark & { version: bigint }) | undefined> {
  const [row] = await store.query<{
    w: string
    mark_version: string
    v: string
    tallied: number
    incremental: number
    shape: string
  }>(sql`
    SELECT toUnixTimestamp64Milli(argMax(watermark, version)) AS w, toString(max(version)) AS mark_version,
      toString(argMax(state_version, version)) AS v, argMax(tallied, version) AS tallied,
      argMax(incremental, version) AS incremental, argMax(shape, version) AS shape
    FROM ${table(TABLES.flowStateMarks)} WHERE flow = ${flow.name} GROUP BY flow`)
  if (!row) return undefined
  return {
    watermarkMs: Number(row.w),
    version: BigInt(row.mark_version),
    stateVersion: BigInt(row.v),
    tallied: Number(row.tallied) === 1,
    incremental: Number(row.incremental) === 1,
    shape: row.shape,
  }
}

function writeMark(store: Store, flow: FlowShape, version: bigint, mark: Mark): Promise<void> {
  return store.command(sql`
    INSERT INTO ${table(TABLES.flowStateMarks)} (flow, watermark, version, state_version, tallied, incremental, shape)
    VALUES (${flow.name}, ${new Date(mark.watermarkMs)}, ${version}, ${mark.stateVersion}, ${mark.tallied ? 1 : 0},
      ${mark.incremental ? 1 : 0}, ${mark.shape})`)
}

/**
 * The entities of the flow whose progress arrived since its state's watermark (at most MAX_CHANGED +
 * 1), or undefined while it has no state a read may use (none yet, rows of another configuration, or a
 * build from nothing under way); and whether its tallies are complete. One query: on the
 * embedded engine a query costs a few milliseconds before it reads anything, and this runs before
 * every read of the state.
 */
async function changedSinceMark(
  store: Store,
  flow: FlowShape,
): Promise<{ changed: string[]; tallied: boolean; markVersion: string } | undefined> {
  const mark = sql`SELECT argMax(watermark, version) FROM ${table(TABLES.flowStateMarks)} WHERE flow = ${flow.name}`
  // The mark's kind: 'tallied', 'kept' (rows usable, tallies not: a refresh under way), or 'none'
  // (rows of another configuration, or a build from nothing under way: everything is read live).
  const rows = await store.query<{ kind: 'mark' | 'changed'; id: string }>(sql`
    SELECT 'mark' AS kind,
      concat(multiIf(argMax(shape, version) != ${shapeOf(flow)}, 'none', argMax(tallied, version) = 1, 'tallied',
        argMax(incremental, version) = 1, 'kept', 'none'), ':', toString(max(version))) AS id
    FROM ${table(TABLES.flowStateMarks)} WHERE flow = ${flow.name} GROUP BY flow
    UNION ALL
    SELECT 'changed' AS kind, id FROM (
      SELECT DISTINCT entity_id AS id FROM ${table(TABLES.entityProgress)}
      WHERE entity_type = ${flow.entityType} AND received >= (${mark})
      LIMIT ${MAX_CHANGED + 1})`)
  const [state, version = ''] = rows.find((r) => r.kind === 'mark')?.id.split(':') ?? []
  if (state === undefined || state === 'none') return undefined
  return {
    changed: rows.filter((r) => r.kind === 'changed').map((r) => r.id),
    tallied: state === 'tallied',
    markVersion: version,
  }
}

/**
 * Whether a refresh wrote since `snapshot` was read: a read of the tallies that ran across a refresh
 * may have counted its change twice (in the tallies and live), so it is read again.
 */
export async function stateMoved(store: Store, flow: FlowShape, snapshot: FlowSnapshot): Promise<boolean> {
  if (!snapshot.tallied) return false
  const [row] = await store.query<{ v: string }>(sql`
    SELECT toString(max(version)) AS v FROM ${table(TABLES.flowStateMarks)} WHERE flow = ${flow.name}`)
  return row?.v !== snapshot.markVersion
}

/**
 * The entity rows of `entityStages` over all of their history (all entities, or those listed), with
 * their first and last activity and the channel of the event that started them.
 */
const stagesWithSpan = (flow: FlowShape, ids?: readonly string[]) => sql`
  SELECT entity_id, ts, last_stage, terminated, terminated_ms,
    arrayMin(arrayFilter(x -> x > 0, arrayPushBack(ts, terminated_ms))) AS first_ms,
    greatest(arrayMax(ts), terminated_ms) AS last_ms, if(c.entry_channel = '', 'unknown', c.entry_channel) AS channel
  FROM (${entityStages(flow, EVER.since, EVER.until, ids && sql`entity_id IN ${[...ids]}`)}) AS s
  LEFT JOIN (
    SELECT subject AS entity_id, any(${CHANNEL}) AS entry_channel FROM ${table(TABLES.events)}
    WHERE type IN ${[...(flow.stageEvents[0] ?? [])]} AND ${ids ? sql`subject IN ${[...ids]}` : sql`1`}
    GROUP BY entity_id
  ) AS c USING entity_id`

const ROW_COLUMNS = sql`entity_id, ts, last_stage, terminated, terminated_ms, channel, first_ms, last_ms`

/** Kept rows with a stage time per stage: rows of another configuration (stages since added) are left. */
const ofThisShape = (flow: FlowShape) => sql`length(ts) = ${flow.stageEvents.length}`

/**
 * Brings the flow's state up to date: every entity when there is none yet (or no tallies), then those
 * whose progress arrived since the last watermark. The new watermark is the refresh's start less
 * `slackMs`, so progress that becomes visible late is still read live, and taken up by the next
 * refresh. A refresh cut off half way (a crash) is finished by the next one before anything else.
 */
export async function refreshFlowState(
  store: Store,
  flow: FlowShape,
  options: RefreshOptions = {},
): Promise<void> {
  // One refresh of a flow at a time in a process (a command's beside the timer's): two at once would
  // each count the same change. Across processes, the rollup lease (store/rollups.ts) keeps one.
  const byFlow = running.get(store) ?? new Map<string, Promise<void>>()
  running.set(store, byFlow)
  const next = (byFlow.get(flow.name) ?? Promise.resolve())
    .catch(() => {})
    .then(() => refreshOnce(store, flow, options))
  byFlow.set(flow.name, next)
  try {
    await next
  } finally {
    if (byFlow.get(flow.name) === next) byFlow.delete(flow.name)
  }
}

const running = new WeakMap<Store, Map<string, Promise<void>>>()

interface RefreshOptions {
  readonly now?: number
  readonly slackMs?: number
  /**
   * Asked before a refresh writes anything: whether this process still leads (the rollup lease,
   * store/rollups.ts). A refresh that lost the lease stops; the leader's next refresh finishes it.
   */
  readonly leading?: () => Promise<boolean>
}

async function refreshOnce(store: Store, flow: FlowShape, options: RefreshOptions): Promise<void> {
  const { now = Date.now(), slackMs = SLACK_MS, leading } = options
  const shape = shapeOf(flow)
  let mark = await latestMark(store, flow)
  if (leading && !(await leading())) return
  if (mark && !mark.tallied && mark.stateVersion > 0n && mark.shape === shape) {
    // Cut off half way: finished from its staged rows (kept a day); if they are gone, built anew.
    if (await isStaged(store, flow, mark.stateVersion)) {
      await finishRefresh(store, flow, mark)
      mark = { ...mark, tallied: true }
    } else mark = { ...mark, tallied: false, incremental: false }
  }
  // The tallies hold this flow as configured; otherwise every entity is read again, the tallies and
  // waiting rows of another build (another configuration, a mark from before them) taken away first.
  const current = mark?.tallied === true && mark.shape === shape
  if (!current) await clearTallies(store, flow)
  const since = current ? await changedSinceMark(store, flow) : undefined
  // After every earlier mark, even if this process's clock runs behind the last leader's.
  const byClock = BigInt(now) * 1000n
  const afterLast = (mark?.version ?? 0n) + 2n
  const version = byClock > afterLast ? byClock : afterLast
  const watermarkMs = Math.max(0, now - slackMs)
  if (mark && current && since?.changed.length === 0) {
    await writeMark(store, flow, version, { ...mark, watermarkMs })
    return
  }
  const ids = since && since.changed.length <= MAX_CHANGED ? since.changed : undefined
  // This and the inserts after it read a whole flow when it is built from nothing, or all it staged:
  // on a large store longer than a request timeout, so they go as long statements.
  await store.command(
    sql`
    INSERT INTO ${table(TABLES.flowEntitiesStaged)} (flow, ${ROW_COLUMNS}, version)
    SELECT ${flow.name}, ${ROW_COLUMNS}, ${version} FROM (${stagesWithSpan(flow, ids)})`,
    LONG_STATEMENT,
  )
  // Staging a whole flow can outlast a lease term: the refresh goes on only if it still leads. From
  // the pending mark on, finishing is safe for anyone (its inserts carry deduplication tokens).
  if (leading && !(await leading())) return
  // Under way: readers keep the last watermark and read live until the mark below says done.
  const pending = {
    watermarkMs: current ? (mark?.watermarkMs ?? 0) : 0,
    stateVersion: version,
    tallied: false,
    incremental: current,
    shape,
  }
  await writeMark(store, flow, version, pending)
  await finishRefresh(store, flow, pending, watermarkMs)
}

async function isStaged(store: Store, flow: FlowShape, version: bigint): Promise<boolean> {
  const rows = await store.query<{ one: number }>(sql`
    SELECT 1 AS one FROM ${table(TABLES.flowEntitiesStaged)} WHERE flow = ${flow.name} AND version = ${version} LIMIT 1`)
  return rows.length > 0
}

/**
 * Takes away every tally and waiting row of the flow (signed rows that cancel them), before the state
 * is built from nothing: what another configuration or an earlier build counted must not stay.
 */
async function clearTallies(store: Store, flow: FlowShape): Promise<void> {
  await store.command(
    sql`
    INSERT INTO ${table(TABLES.flowTallies)} (flow, ${TALLY_KEY}, n, delay_ms_sum)
    SELECT flow, ${TALLY_KEY}, -sum(n), -sum(delay_ms_sum) FROM ${table(TABLES.flowTallies)}
    WHERE flow = ${flow.name} GROUP BY flow, ${TALLY_KEY} HAVING sum(n) != 0 OR sum(delay_ms_sum) != 0`,
    LONG_STATEMENT,
  )
  await store.command(
    sql`
    INSERT INTO ${table(TABLES.flowWaiting)} (flow, ${WAITING_KEY}, n)
    SELECT flow, ${WAITING_KEY}, -sum(n) FROM ${table(TABLES.flowWaiting)}
    WHERE flow = ${flow.name} GROUP BY flow, ${WAITING_KEY} HAVING sum(n) != 0`,
    LONG_STATEMENT,
  )
}

/**
 * A refresh's last steps, from its staged rows: the tallies and the waiting entities (new counts less
 * the old ones of the same entities, read before their new rows are written, so a retry computes the
 * same change and its deduplication token keeps it once), then the rows, then the mark.
 */
async function finishRefresh(store: Store, flow: FlowShape, mark: Mark, watermarkMs = mark.watermarkMs) {
  const staged = sql`
    SELECT ${ROW_COLUMNS} FROM ${table(TABLES.flowEntitiesStaged)}
    WHERE flow = ${flow.name} AND version = ${mark.stateVersion}`
  const before = sql`
    SELECT ${ROW_COLUMNS} FROM ${table(TABLES.flowEntities)} FINAL
    WHERE flow = ${flow.name} AND ${ofThisShape(flow)} AND entity_id IN (
      SELECT entity_id FROM ${table(TABLES.flowEntitiesStaged)} WHERE flow = ${flow.name} AND version = ${mark.stateVersion})`
  const signed = mark.incremental ? signedChange(staged, before) : signedChange(staged)
  await store.command(
    sql`
    INSERT INTO ${table(TABLES.flowTallies)} (flow, ${TALLY_KEY}, n, delay_ms_sum)
    SELECT ${flow.name}, ${TALLY_KEY}, n, delay_ms_sum FROM (${tallyRows(flow, signed)})
    WHERE n != 0 OR delay_ms_sum != 0
    ORDER BY ${TALLY_KEY}
    SETTINGS insert_deduplication_token = ${`flow_tallies:${flow.name}:${mark.stateVersion}`},
      deduplicate_insert_select = 'force_enable'`,
    LONG_STATEMENT,
  )
  await store.command(
    sql`
    INSERT INTO ${table(TABLES.flowWaiting)} (flow, ${WAITING_KEY}, n)
    SELECT ${flow.name}, ${WAITING_KEY}, n FROM (${waitingRows(flow, signed)})
    WHERE n != 0
    ORDER BY ${WAITING_KEY}
    SETTINGS insert_deduplication_token = ${`flow_waiting:${flow.name}:${mark.stateVersion}`},
      deduplicate_insert_select = 'force_enable'`,
    LONG_STATEMENT,
  )
  await store.command(
    sql`
    INSERT INTO ${table(TABLES.flowEntities)} (flow, ${ROW_COLUMNS}, version)
    SELECT flow, ${ROW_COLUMNS}, version FROM ${table(TABLES.flowEntitiesStaged)}
    WHERE flow = ${flow.name} AND version = ${mark.stateVersion}`,
    LONG_STATEMENT,
  )
  await writeMark(store, flow, mark.stateVersion + 1n, {
    ...mark,
    watermarkMs,
    tallied: true,
    incremental: true,
  })
}

/** Entity rows signed for the tallies: `after` counted in (+1), `before` taken out (-1). */
function signedChange(after: Fragment, before?: Fragment): Fragment {
  const plus = sql`SELECT *, toInt8(1) AS sign FROM (${after})`
  return before ? sql`${plus} UNION ALL SELECT *, toInt8(-1) AS sign FROM (${before})` : plus
}

const COLUMNS = sql`entity_id, ts, last_stage, terminated, terminated_ms, channel`

/** What a read of the flow state needs to know first: which entities changed since it (none: no state). */
export interface FlowSnapshot {
  readonly changed: readonly string[] | undefined
  /** Whether the flow's tallies are complete up to the watermark (store/queries/flow-tallies.ts). */
  readonly tallied: boolean
  /** The latest mark's version when read (`stateMoved`). */
  readonly markVersion?: string
}

/** Read once per request when several reads of one flow follow (flow metrics). */
export async function flowSnapshot(store: Store, flow: FlowShape): Promise<FlowSnapshot> {
  const since = await changedSinceMark(store, flow)
  return { changed: since?.changed, tallied: since?.tallied ?? false, markVersion: since?.markVersion }
}

/**
 * The change the tallies do not hold yet: the entities changed since the watermark, live (+1) less
 * their kept rows (-1); null when none changed; undefined when the tallies cannot serve a read (none
 * yet, a refresh under way, or more changed entities than a read takes live).
 */
export function untalliedChange(flow: FlowShape, snapshot: FlowSnapshot): Fragment | null | undefined {
  const { changed, tallied } = snapshot
  if (!tallied || changed === undefined || changed.length > MAX_CHANGED) return undefined
  if (changed.length === 0) return null
  return signedChange(
    sql`SELECT ${COLUMNS} FROM (${stagesWithSpan(flow, [...changed])})`,
    sql`SELECT ${COLUMNS} FROM ${table(TABLES.flowEntities)} FINAL
      WHERE flow = ${flow.name} AND entity_id IN ${[...changed]} AND ${ofThisShape(flow)}`,
  )
}

/**
 * The flow's entities waiting for a stage (`flow_waiting`, read where `kept` says: ranges of its sort
 * key), with those changed since the watermark live instead; undefined when the tallies cannot serve
 * the read (as `untalliedChange`). Columns: awaited, since_ms, entity_id, awaited_after, last_stage,
 * channel, last_ms.
 */
export function waitingEntities(
  flow: FlowShape,
  snapshot: FlowSnapshot,
  kept: Fragment,
): Fragment | undefined {
  const { changed, tallied } = snapshot
  if (!tallied || changed === undefined || changed.length > MAX_CHANGED) return undefined
  const stored = sql`
    SELECT ${WAITING_KEY} FROM ${table(TABLES.flowWaiting)}
    WHERE flow = ${flow.name} AND (${kept})${changed.length ? sql` AND entity_id NOT IN ${[...changed]}` : sql``}
    GROUP BY ${WAITING_KEY} HAVING sum(n) > 0`
  if (changed.length === 0) return stored
  const live = sql`SELECT ${COLUMNS}, toInt8(1) AS sign FROM (${stagesWithSpan(flow, [...changed])})`
  return sql`${stored} UNION ALL SELECT ${WAITING_KEY} FROM (${waitingRows(flow, live)})`
}

/**
 * The flow's entities active in [since, until) — `entity_id`, `ts`, `last_stage`, `terminated`,
 * `terminated_ms` as `entityStages` gives them, and `channel` — from the kept state, with the few
 * entities changed since its watermark computed live instead (their ids are read first and bound,
 * so the engine reads them by primary key). Without state yet, everything is computed live.
 */
export async function flowEntities(
  store: Store,
  flow: FlowShape,
  since: Date,
  until: Date,
  snapshot?: FlowSnapshot,
): Promise<Fragment> {
  const active = sql`last_ms >= ${since.getTime()} AND first_ms < ${until.getTime()}`
  const { changed } = snapshot ?? (await flowSnapshot(store, flow))
  if (changed === undefined || changed.length > MAX_CHANGED)
    return sql`SELECT ${COLUMNS} FROM (${stagesWithSpan(flow)}) WHERE ${active}`
  const kept = sql`
    SELECT ${COLUMNS} FROM ${table(TABLES.flowEntities)} FINAL
    WHERE flow = ${flow.name} AND ${active} AND ${ofThisShape(flow)}`
  if (changed.length === 0) return kept
  return sql`
    ${kept} AND entity_id NOT IN ${[...changed]}
    UNION ALL
    SELECT ${COLUMNS} FROM (${stagesWithSpan(flow, [...changed])}) WHERE ${active}`
}

/**
 * `flowEntities` as they stood at `until`: a stage reached or a cancellation after it has not
 * happened yet, so a past window (an SLO chart, an evaluation on a test clock) reads as it was then.
 */
export async function flowEntitiesAsOf(
  store: Store,
  flow: FlowShape,
  since: Date,
  until: Date,
): Promise<Fragment> {
  const u = until.getTime()
  // The inner columns are renamed first: ClickHouse lets an alias shadow a column.
  return sql`
    SELECT entity_id, arrayMap(x -> if(x < ${u}, x, 0), all_ts) AS ts,
      arrayMax(arrayMap((t, i) -> if(t > 0, i, 0), ts, arrayEnumerate(ts))) AS last_stage,
      all_terminated AND all_terminated_ms < ${u} AS terminated,
      if(all_terminated_ms < ${u}, all_terminated_ms, 0) AS terminated_ms, channel
    FROM (
      SELECT entity_id, ts AS all_ts, terminated AS all_terminated, terminated_ms AS all_terminated_ms, channel
      FROM (${await flowEntities(store, flow, since, until)})
    )`
}

/**
 * Conditions on `flowEntities` rows: entities that came in through one of `channels` (the state's
 * column), and entities one of `systems` touched in [since, until) (an IN-subquery on the entity
 * index's primary key). Nothing asked for, nothing filtered.
 */
export function entityFilters(
  flow: FlowShape,
  q: { readonly channels?: readonly string[]; readonly systems?: readonly string[] },
  since: Date,
  until: Date,
): Fragment[] {
  const filters = [sql`1`]
  if (q.channels) filters.push(sql`channel IN ${[...q.channels]}`)
  if (q.systems)
    filters.push(sql`entity_id IN (
      SELECT entity_id FROM ${table(TABLES.entityIndex)}
      WHERE entity_type = ${flow.entityType} AND time >= ${since} AND time < ${until}
        AND system IN ${[...q.systems]})`)
  return filters
}
