import { randomUUID } from 'node:crypto'
import jsonpatch from 'fast-json-patch'
import type { Config } from '../../core/config.ts'
import { SignalboxError } from '../../core/errors.ts'
import type { PayloadVault } from '../../core/payload-vault.ts'
import type { Store } from '../../store/client.ts'
import { type RegisteredConnector, registeredConnectors } from '../../store/queries/connectors.ts'
import { entityConnectors } from '../../store/queries/entities.ts'
import { type ExceptionRow, getException, setExceptionStatus } from '../../store/queries/exceptions.ts'
import { appendReplay, type ReplayRecord } from '../../store/queries/replays.ts'
import { type CallbackAnswer, callConnector } from './callback.ts'
import { callbackHostAllowed, hostRefusal } from './callback-hosts.ts'
import { checkPayload, sealedAt } from './payload-check.ts'

export class ConflictError extends SignalboxError {
  constructor(code: string, message: string) {
    super(code, message, 409)
  }
}

export interface ReplayDeps {
  readonly store: Store
  /** Opens the encrypted payload fields the connector needs to run the step again. */
  readonly vault: PayloadVault
  readonly callbackSecret: string
  /** SIGNALBOX_CALLBACK_HOSTS: a callback elsewhere is not called (registered before it was set). */
  readonly callbackHosts?: readonly string[]
  /** The loop guard: at most this many replays of one exception. */
  readonly limit: number
}

/** A replay's needs from the configuration: the api's routes and the bulk jobs take the same. */
export const replayDeps = (
  store: Store,
  vault: PayloadVault,
  replay: Pick<Config['replay'], 'callbackSecret' | 'callbackHosts' | 'limit'>,
): ReplayDeps => ({
  store,
  vault,
  callbackSecret: replay.callbackSecret,
  callbackHosts: replay.callbackHosts,
  limit: replay.limit,
})

export interface ReplayRequest {
  readonly by: string
  readonly reason: string
  /** A corrected payload; the audit keeps the diff against the stored one. */
  readonly payload?: unknown
  readonly approvedBy?: string
  readonly jobId?: string
  /** Set by bulk jobs so a resumed job re-sends under the same id (the connector dedupes it). */
  readonly replayId?: string
}

const isDocument = (v: unknown): v is object => typeof v === 'object' && v !== null

/**
 * The edit as RFC 6902 operations for the audit. Where the original value was personal data (sealed
 * by the connector or encrypted at rest, as `raw` holds it), the new value is not kept either: the
 * trail says the field was edited, not what it now holds.
 */
export function auditDiff(raw: unknown, stored: unknown, edited: unknown) {
  // JSON Patch compares documents; a payload that is a scalar or null (any JSON is a payload) is
  // replaced whole. Compared as it came, it threw, and the replay answered 500.
  const ops =
    isDocument(stored) && isDocument(edited)
      ? jsonpatch.compare(stored, edited)
      : JSON.stringify(stored) === JSON.stringify(edited)
        ? []
        : [{ op: 'replace' as const, path: '', value: edited }]
  return ops.map((op) =>
    'value' in op && sealedAt(raw, op.path) ? { ...op, value: '[personal data, not kept]' } : op,
  )
}

/**
 * The stored payload with its encrypted fields opened. When a key has left the ring it cannot be
 * replayed as stored (409), but an edited payload can still be diffed against it as it is.
 */
function openStored(vault: PayloadVault, e: ExceptionRow, raw: unknown, edited: boolean): unknown {
  try {
    return vault.reveal(raw, e.id)
  } catch (err) {
    if (edited) return raw
    throw new ConflictError(
      'payload_unreadable',
      `exception ${e.id}: ${err instanceof Error ? err.message : 'its payload cannot be opened'}; replay with a payload`,
    )
  }
}

/** What a replay's rows in the trail share: its request. */
type ReplayStart = Omit<ReplayRecord, 'atMs' | 'status' | 'httpStatus' | 'error' | 'traceId'>

/** The request, appended to the trail as `running` before the connector is called. */
async function recordStart(deps: ReplayDeps, base: ReplayStart) {
  await appendReplay(deps.store, {
    ...base,
    atMs: Date.now(),
    status: 'running',
    httpStatus: 0,
    error: '',
    traceId: '',
  })
}

/**
 * How a callback ended, appended to the trail: `succeeded` or `failed` (the step ran), or `error`
 * (it could not run: a 5xx, a refused signature, no answer).
 */
async function recordOutcome(deps: ReplayDeps, base: ReplayStart, answer: CallbackAnswer) {
  const status = answer.outcome?.status === 'succeeded' ? 'succeeded' : answer.outcome ? 'failed' : 'error'
  const error = answer.outcome?.error
    ? `${answer.outcome.error.class}: ${answer.outcome.error.message}`
    : answer.error
  await appendReplay(deps.store, {
    ...base,
    atMs: Date.now(),
    status,
    httpStatus: answer.httpStatus,
    error,
    traceId: answer.outcome?.traceId ?? '',
  })
  return { status, error } as const
}

/** Exceptions being replayed by this process: the same exception is never sent twice at once. */
const inFlight = new Set<string>()

const REPLAYABLE = new Set(['open', 'failed-again', 'replaying'])

/** Why an exception cannot be replayed now, or undefined. */
export function notReplayable(e: ExceptionRow, limit: number): string | undefined {
  if (!REPLAYABLE.has(e.status)) return `exception ${e.id} is ${e.status}`
  if (Number(e.replay_count) >= limit)
    return `the loop guard stops exception ${e.id}: replayed ${e.replay_count} times already (SIGNALBOX_REPLAY_LIMIT=${limit})`
  if (inFlight.has(e.id)) return `exception ${e.id} is being replayed now`
  return undefined
}

/**
 * Replays one exception through its connector's callback and records the request, the outcome and
 * the new trace in the append-only trail. The exception becomes `replaying`, then `resolved` (the
 * step succeeded), `failed-again` (it ran and failed) or `open` again (the callback could not run it:
 * a 5xx, a refused signature, no answer). Every attempt counts towards the loop guard.
 */
export async function replayException(deps: ReplayDeps, exceptionId: string, request: ReplayRequest) {
  const e = await getException(deps.store, exceptionId)
  if (!e) throw new SignalboxError('not_found', `no exception '${exceptionId.slice(0, 100)}'`, 404)
  const refused = notReplayable(e, deps.limit)
  if (refused) throw new ConflictError('not_replayable', refused)
  if (e.payload === 'null' && request.payload === undefined)
    throw new ConflictError(
      'no_payload',
      `exception ${e.id} was found in spans and holds no payload: re-sync the ${e.entity_type}, or replay with a payload`,
    )
  const connector = (await registeredConnectors(deps.store)).find((c) => c.id === e.connector)
  if (!connector?.callbackUrl)
    throw new ConflictError('no_callback', `connector ${e.connector} has not registered a callback URL`)
  requireAllowedHost(deps, connector.callbackUrl)

  inFlight.add(e.id)
  try {
    const raw = JSON.parse(e.payload) as unknown
    const stored = openStored(deps.vault, e, raw, request.payload !== undefined)
    const payload = request.payload === undefined ? stored : request.payload
    if (request.payload !== undefined)
      checkPayload(connector.steps.find((s) => s.name === e.step)?.schema ?? null, payload, e.step)
    const diff = request.payload === undefined ? [] : auditDiff(raw, stored, payload)
    const id = request.replayId ?? `rpl_${randomUUID()}`
    const base: ReplayStart = {
      id,
      kind: 'replay',
      exceptionId: e.id,
      jobId: request.jobId ?? '',
      connector: e.connector,
      step: e.step,
      entity: { type: e.entity_type, id: e.entity_id },
      requestedBy: request.by,
      reason: request.reason,
      payloadDiff: JSON.stringify(diff),
      approvedBy: request.approvedBy ?? '',
      originalTraceId: e.trace_id,
    }
    await recordStart(deps, base)
    await setExceptionStatus(deps.store, e.id, {
      status: 'replaying',
      by: request.by,
      reason: `replay ${id}`,
      replayed: true,
    })

    const answer = await callConnector(connector.callbackUrl, deps.callbackSecret, id, {
      kind: 'replay',
      connector: connector.id,
      step: e.step,
      payload,
      exceptionId: e.id,
      original: { traceId: e.trace_id, spanId: e.span_id },
    })
    const { status, error } = await recordOutcome(deps, base, answer)
    const succeeded = status === 'succeeded'
    const ran = status !== 'error'
    await setExceptionStatus(deps.store, e.id, {
      status: succeeded ? 'resolved' : ran ? 'failed-again' : 'open',
      by: request.by,
      reason: succeeded ? `replay ${id} succeeded` : `replay ${id}: ${error}`,
    })
    return {
      id,
      status,
      httpStatus: answer.httpStatus,
      error: error || null,
      traceId: answer.outcome?.traceId ?? null,
      diff,
    }
  } finally {
    inFlight.delete(e.id)
  }
}

function requireAllowedHost(deps: ReplayDeps, url: string): void {
  if (!callbackHostAllowed(url, deps.callbackHosts ?? []))
    throw new ConflictError('callback_not_allowed', hostRefusal(url))
}

type ResyncTarget = { connector: RegisteredConnector; step: RegisteredConnector['steps'][number] }

/**
 * Of the connectors that could re-sync the entity, the one to ask: the only one, else the only one
 * that has handled it (its spans named the entity). Taking the first by id sent every re-sync of
 * every order to whichever connector registered an id that sorted first; when the entity does not
 * say, the operator names one.
 */
async function choose(
  store: Store,
  entity: { type: string; id: string },
  candidates: readonly ResyncTarget[],
): Promise<ResyncTarget> {
  const ids = new Set(candidates.map((c) => c.connector.id))
  if (ids.size === 1) return candidates[0] as ResyncTarget
  const handled = new Set(await entityConnectors(store, entity.type, entity.id))
  const theirs = candidates.filter((c) => handled.has(c.connector.id))
  if (new Set(theirs.map((c) => c.connector.id)).size === 1) return theirs[0] as ResyncTarget
  throw new ConflictError(
    'ambiguous_resync',
    `${ids.size} connectors can re-sync a ${entity.type} (${[...ids].join(', ')}) and ${
      theirs.length === 0 ? 'none of them' : 'more than one'
    } has handled ${entity.type} ${entity.id}: name the connector`,
  )
}

/**
 * Re-syncs an entity: the connector reads it again from its source and runs the step (and, through
 * its `next` steps, the flow after it) through the same code as normal operation. The step is the
 * one named, or the connector's first re-sync step for a flow of the entity's type.
 */
export async function resyncEntity(
  deps: ReplayDeps,
  entity: { type: string; id: string },
  flowsOfType: ReadonlySet<string>,
  request: {
    by: string
    reason: string
    connector?: string
    step?: string
    /** Only through these connectors (a scope's; undefined: any). */
    connectors?: readonly string[]
  },
) {
  const allowed = request.connectors
  const connectors = (await registeredConnectors(deps.store)).filter(
    (c) => !allowed || allowed.includes(c.id),
  )
  const candidates = connectors.flatMap((c) =>
    c.steps
      .filter((s) => s.resync && flowsOfType.has(s.flow))
      .filter(
        (s) =>
          (!request.connector || c.id === request.connector) && (!request.step || s.name === request.step),
      )
      .map((s) => ({ connector: c, step: s })),
  )
  if (candidates.length === 0)
    throw new ConflictError(
      'no_resync',
      `no registered connector can re-sync a ${entity.type}${request.step ? ` with step ${request.step}` : ''}`,
    )
  const target = await choose(deps.store, entity, candidates)
  requireAllowedHost(deps, target.connector.callbackUrl)
  const id = `rpl_${randomUUID()}`
  const base: ReplayStart = {
    id,
    kind: 'resync',
    exceptionId: '',
    jobId: '',
    connector: target.connector.id,
    step: target.step.name,
    entity,
    requestedBy: request.by,
    reason: request.reason,
    payloadDiff: '[]',
    approvedBy: '',
    originalTraceId: '',
  }
  await recordStart(deps, base)
  const answer = await callConnector(target.connector.callbackUrl, deps.callbackSecret, id, {
    kind: 'resync',
    connector: target.connector.id,
    step: target.step.name,
    payload: null,
    entity,
  })
  const { status, error } = await recordOutcome(deps, base, answer)
  return {
    id,
    connector: target.connector.id,
    step: target.step.name,
    status,
    httpStatus: answer.httpStatus,
    error: error || null,
    traceId: answer.outcome?.traceId ?? null,
  }
}
