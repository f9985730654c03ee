import { type Fragment, join, sql, table, typed } from '../sql.ts'
import { TABLES } from '../tables.ts'

/** A flow as the queries need it: stages as lists of completing event types, in order. */
export interface FlowShape {
  readonly entityType: string
  readonly name: string
  readonly stageEvents: readonly (readonly string[])[]
  /** Per stage, whether an entity may pass over it for good (never awaited, never unconfirmed). */
  readonly optionalStages: readonly boolean[]
  readonly terminalEvents: readonly string[]
}

/** An entity's channel, on the event that starts its flow: `data.channel`, a `channel` extension, or the system. */
export const CHANNEL = sql`coalesce(nullIf(JSONExtractString(data, 'channel'), ''), nullIf(extensions['channel'], ''),
  nullIf(system, ''), 'unknown')`

/**
 * One row per entity of the flow with activity in [since, until): `ts`, its first time (ms) at each
 * stage in flow order (0: not reached), `last_stage` (1-based, 0: none), `terminated` and when
 * (`terminated_ms`, 0: not). Flows are
 * configuration, so event types map to stages here, at read time.
 *
 * Shaped for speed on millions of progress rows (bench/query.ts): `transform` maps the
 * LowCardinality type through its dictionary, one `minIf` per stage avoids building arrays per
 * entity, and grouping on a 64-bit hash of the id is cheaper than on the string.
 */
export function entityStages(flow: FlowShape, since: Date, until: Date, only?: Fragment) {
  const types = flow.stageEvents.flat()
  const indexes = flow.stageEvents.flatMap((events, i) => events.map(() => i + 1))
  const firstTimes = join(
    flow.stageEvents.map((_, i) => sql`minIf(at_ms, stage_index = ${i + 1})`),
    ', ',
  )
  return sql`
    SELECT cityHash64(id) AS entity_hash, any(id) AS entity_id, [${firstTimes}] AS ts,
      max(stage_index) AS last_stage, max(terminal) AS terminated,
      minIf(at_ms, terminal) AS terminated_ms
    FROM (
      SELECT entity_id AS id, transform(name, ${types}, ${typed(indexes, 'Array(UInt8)')}, 0) AS stage_index,
        has(${[...flow.terminalEvents]}, name) AS terminal, toUnixTimestamp64Milli(first_time) AS at_ms
      FROM ${table(TABLES.entityProgress)}
      WHERE entity_type = ${flow.entityType} AND first_time >= ${since} AND first_time < ${until}
        AND (stage_index > 0 OR terminal) AND ${only ?? sql`1`}
    )
    GROUP BY entity_hash`
}

/**
 * `rows` (with `ts`) and the stage each entity awaits, the one rule the stuck list, the stuck alert
 * and the backlog share: `awaited`, the first stage (1-based; 0: none) that is neither reached nor
 * optional and has a stage reached before it — the next stage, or one passed over while a later one
 * was reached (*unconfirmed*: a delivery the carrier never confirmed on an invoiced order) — and
 * `awaited_after`, the last stage reached before it, from which its `max_delay` counts.
 */
export function withAwaitedStage(flow: FlowShape, rows: Fragment): Fragment {
  // By index, not over the arrays side by side: the engine may evaluate this on rows a WHERE then
  // drops (a kept row of another configuration, with another number of stages), and arrays of
  // unequal length passed together are an error where an index past the end is a default.
  const required = typed(
    flow.optionalStages.map((o) => (o ? 0 : 1)),
    'Array(UInt8)',
  )
  // Per stage, the index of the last stage reached before it (0: none): reached indexes carried forward.
  const reachedBefore = sql`arrayConcat([toUInt32(0)],
    arrayPopBack(arrayFill(x -> x > 0, arrayMap((t, i) -> if(t > 0, toUInt32(i), toUInt32(0)), ts, arrayEnumerate(ts)))))`
  return sql`
    SELECT *, arrayFirstIndex(i -> ts[i] = 0 AND reached_before[i] > 0 AND ${required}[i] = 1, arrayEnumerate(ts)) AS awaited,
      if(awaited > 0, reached_before[awaited], 0) AS awaited_after
    FROM (SELECT *, ${reachedBefore} AS reached_before FROM (${rows}))`
}
