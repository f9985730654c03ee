import type { FlowDefinition, StageDefinition } from '../core/flows.ts'
import type { EntityRow } from '../store/queries/entities.ts'
import { isoFromNanos } from './params.ts'

/**
 * `late`: the next stage, overdue; `unconfirmed`: passed over while a later stage was reached, and
 * `overdue` once its limit, counted from the last stage reached before it, has passed (what the stuck
 * list lists); `skipped`: an optional stage passed over.
 */
export type StageStatus = 'done' | 'pending' | 'late' | 'failed' | 'skipped' | 'unconfirmed' | 'overdue'
export type LifecycleStatus = 'in_progress' | 'completed' | 'stuck' | 'failed' | 'cancelled'

export interface LifecycleStage {
  readonly name: string
  readonly status: StageStatus
  /** When it was first reached (RFC 3339), or null. */
  readonly at: string | null
  readonly system: string | null
  /** From the previous stage being reached to this one, in milliseconds. */
  readonly delayMs: number | null
  /** Reached before the stage before it: shown, not hidden. */
  readonly outOfOrder: boolean
  /** How many distinct business events reported it (more than one: reached twice). */
  readonly occurrences: number
  readonly traceId: string | null
  /** The replay that completed the stage, if one did. */
  readonly replayId: string | null
}

export interface TimelineEntry {
  readonly at: string
  readonly kind: 'event' | 'span' | 'exception' | 'replay'
  readonly system: string
  readonly name: string
  readonly traceId: string | null
  readonly replayId?: string | null
}

const ms = (ns: string) => Number(BigInt(ns) / 1_000_000n)

/** The rows that complete a stage: its business events, or successful spans that name it. */
function completions(stage: StageDefinition, rows: readonly EntityRow[]): EntityRow[] {
  return rows.filter((r) =>
    r.kind === 'event' ? stage.events.includes(r.name) : r.stage === stage.name && r.status !== 'error',
  )
}

/** The replay behind a completion: on its own row, or on the sync span of the same trace. */
function replayOf(hit: EntityRow, rows: readonly EntityRow[]): string | null {
  if (hit.replay_id) return hit.replay_id
  if (!hit.trace_id) return null
  return rows.find((r) => r.kind === 'span' && r.trace_id === hit.trace_id && r.replay_id)?.replay_id || null
}

/**
 * An entity's lifecycle in its flow, from what the entity index holds: each stage done, pending,
 * late (the next stage, overdue by the flow's limit), failed (its sync failed and nothing completed
 * it), unconfirmed or overdue (a later stage was reached without it: the stuck list's rule) or skipped
 * (optional, and passed over), and the overall status.
 */
export function buildLifecycle(flow: FlowDefinition, rows: readonly EntityRow[], now: number) {
  const firstOf = (stage: StageDefinition) => completions(stage, rows)[0]
  // Each stage's completions once: what reached it first, and how many distinct events reported it.
  const completed = flow.stages.map((s) => completions(s, rows))
  const reachedAt = completed.map((c) => c[0])
  const lastReached = reachedAt.reduce((last, r, i) => (r ? i : last), -1)
  // The next stage the entity must reach: optional ones may be passed over.
  const next = flow.stages.findIndex((s, i) => i > lastReached && !s.optional)
  const overdue = (stage: StageDefinition, since: number | null) =>
    since !== null && stage.maxDelayMs !== undefined && now - since > stage.maxDelayMs
  let previousAt: number | null = null
  const stages: LifecycleStage[] = flow.stages.map((stage, i) => {
    const hit = reachedAt[i]
    const at = hit ? ms(hit.time_ns) : null
    const failed =
      !hit && rows.some((r) => r.kind === 'span' && r.stage === stage.name && r.status === 'error')
    let status: StageStatus
    if (hit) status = 'done'
    else if (failed) status = 'failed'
    else if (i < lastReached)
      status = stage.optional ? 'skipped' : overdue(stage, previousAt) ? 'overdue' : 'unconfirmed'
    else if (i === next && overdue(stage, previousAt)) status = 'late'
    else status = 'pending'
    const result: LifecycleStage = {
      name: stage.name,
      status,
      at: hit ? isoFromNanos(hit.time_ns) : null,
      system: hit?.system || null,
      delayMs: at !== null && previousAt !== null ? at - previousAt : null,
      outOfOrder: at !== null && previousAt !== null && at < previousAt,
      occurrences: new Set(
        (completed[i] ?? [])
          .filter((r) => r.kind === 'event')
          .map((r) => `${r.event_source}\u0000${r.event_id}`),
      ).size,
      traceId: hit?.trace_id || null,
      replayId: hit ? replayOf(hit, rows) : null,
    }
    if (at !== null) previousAt = at
    return result
  })
  const terminal = flow.terminal.find((t) => firstOf(t))
  const status: LifecycleStatus = terminal
    ? 'cancelled'
    : stages.every((s) => s.status === 'done' || s.status === 'skipped')
      ? 'completed'
      : stages.some((s) => s.status === 'failed')
        ? 'failed'
        : stages.some((s) => s.status === 'late' || s.status === 'overdue')
          ? 'stuck'
          : 'in_progress'
  const timeline: TimelineEntry[] = rows.map((r) => ({
    at: isoFromNanos(r.time_ns),
    kind: r.kind,
    system: r.system,
    name: r.name,
    traceId: r.trace_id || null,
    replayId: r.replay_id || null,
  }))
  return {
    flow: flow.name,
    status,
    stages,
    terminal: terminal ? { name: terminal.name, at: isoFromNanos(firstOf(terminal)?.time_ns ?? '0') } : null,
    timeline,
  }
}
