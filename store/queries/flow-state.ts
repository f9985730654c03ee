import type { Store } from '../client.ts'
import { type Fragment, sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'
import { CHANNEL, entityStages, type FlowShape } from './flow-stages.ts'

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

/**
 * The entities of the flow whose progress arrived since its state's watermark (at most MAX_CHANGED +
 * 1), or undefined while it has no state. One query: on the embedded engine a query costs a few
 * milliseconds before it reads anything, and this runs before every read of the state.
 */
async function changedSinceMark(store: Store, flow: FlowShape): Promise<string[] | undefined> {
  const mark = sql`SELECT argMax(watermark, version) FROM ${table(TABLES.flowStateMarks)} WHERE flow = ${flow.name}`
  const rows = await store.query<{ kind: 'mark' | 'changed'; id: string }>(sql`
    SELECT 'mark' AS kind, '' AS id FROM ${table(TABLES.flowStateMarks)} WHERE flow = ${flow.name} LIMIT 1
    UNION ALL
    SELECT 'changed' AS kind, id FROM (
      SELECT DISTINCT entity_id AS id FROM ${table(TABLES.entityProgress)}
      WHERE entity_type = ${flow.entityType} AND received >= (${mark})
      LIMIT ${MAX_CHANGED + 1})`)
  if (!rows.some((r) => r.kind === 'mark')) return undefined
  return rows.filter((r) => r.kind === 'changed').map((r) => r.id)
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

/**
 * Brings the flow's state up to date: every entity when there is none yet, then those whose progress
 * arrived since the last watermark. The new watermark is the refresh's start less `slackMs`, so
 * progress that becomes visible late is still read live, and taken up by the next refresh.
 */
export async function refreshFlowState(
  store: Store,
  flow: FlowShape,
  { now = Date.now(), slackMs = SLACK_MS } = {},
): Promise<void> {
  const ids = await changedSinceMark(store, flow)
  const version = BigInt(now) * 1000n
  if (ids === undefined || ids.length > 0)
    await store.command(sql`
      INSERT INTO ${table(TABLES.flowEntities)} (flow, entity_id, ts, last_stage, terminated, terminated_ms, channel,
        first_ms, last_ms, version)
      SELECT ${flow.name}, entity_id, ts, last_stage, terminated, terminated_ms, channel, first_ms, last_ms, ${version}
      FROM (${stagesWithSpan(flow, ids && ids.length <= MAX_CHANGED ? ids : undefined)})`)
  await store.command(sql`
    INSERT INTO ${table(TABLES.flowStateMarks)} (flow, watermark, version)
    VALUES (${flow.name}, ${new Date(Math.max(0, now - slackMs))}, ${version})`)
}

const COLUMNS = sql`entity_id, ts, last_stage, terminated, terminated_ms, channel`

/** What a read of the flow state needs to know first: which entities changed since it (none: no state). */
export interface FlowSnapshot {
  readonly changed: readonly string[] | undefined
}

/** Read once per request when several reads of one flow follow (flow metrics). */
export async function flowSnapshot(store: Store, flow: FlowShape): Promise<FlowSnapshot> {
  return { changed: await changedSinceMark(store, flow) }
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
    SELECT ${COLUMNS} FROM ${table(TABLES.flowEntities)} FINAL WHERE flow = ${flow.name} AND ${active}`
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
