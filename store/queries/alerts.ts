import type { Store } from '../client.ts'
import { join, nullableTime, sql, table, typed } from '../sql.ts'
import { TABLES } from '../tables.ts'

/** Alert state and the tables around it (migration 8). Times are epoch milliseconds in and out. */

export interface AlertInstance {
  readonly id: string
  readonly rule: string
  readonly severity: string
  readonly labels: Readonly<Record<string, string>>
  readonly state: string
  readonly reason: string
  readonly value: number | null
  readonly sinceMs: number
  readonly firedAtMs: number | null
  readonly evaluatedAtMs: number
  readonly suppressedBy: string
  /** Acknowledged during the current firing episode: by whom and when (read-only; see `acknowledge`). */
  readonly ackedBy: string
  readonly ackedAtMs: number | null
}

interface InstanceRow {
  id: string
  rule: string
  severity: string
  labels: Record<string, string>
  state: string
  reason: string
  value: number | null
  since_ms: string
  fired_at_ms: string | null
  evaluated_at_ms: string
  suppressed_by: string
  acked_by: string
  acked_at_ms: string | null
}

const num = (v: string | null) => (v === null ? null : Number(v))
/** A nullable number binds with an explicit type. */
const float = (v: number | null) => typed(v, 'Nullable(Float64)')
const mapOf = (labels: Readonly<Record<string, string>>) =>
  sql`mapFromArrays(${Object.keys(labels)}, ${Object.values(labels)})`

const fromRow = (r: InstanceRow): AlertInstance => ({
  id: r.id,
  rule: r.rule,
  severity: r.severity,
  labels: r.labels,
  state: r.state,
  reason: r.reason,
  value: r.value,
  sinceMs: Number(r.since_ms),
  firedAtMs: num(r.fired_at_ms),
  evaluatedAtMs: Number(r.evaluated_at_ms),
  suppressedBy: r.suppressed_by,
  ackedBy: r.acked_by,
  ackedAtMs: num(r.acked_at_ms),
})

export async function listInstances(store: Store, filter: { id?: string; states?: readonly string[] } = {}) {
  const conditions = [sql`1`]
  if (filter.id) conditions.push(sql`id = ${filter.id}`)
  if (filter.states?.length) conditions.push(sql`state IN ${[...filter.states]}`)
  const rows = await store.query<InstanceRow>(sql`
    SELECT i.id AS id, rule, severity, labels, state, reason, value, toUnixTimestamp64Milli(since) AS since_ms,
      toUnixTimestamp64Milli(fired_at) AS fired_at_ms, toUnixTimestamp64Milli(evaluated_at) AS evaluated_at_ms,
      suppressed_by, if(ack.acked_at >= fired_at, ack.acked_by, '') AS acked_by,
      if(ack.acked_at >= fired_at, toUnixTimestamp64Milli(ack.acked_at), NULL) AS acked_at_ms
    FROM (SELECT * FROM ${table(TABLES.alertInstances)} FINAL WHERE ${join(conditions, ' AND ')}) AS i
    LEFT JOIN (
      SELECT id AS ack_id, argMax(actor, at) AS acked_by, max(at) AS acked_at FROM ${table(TABLES.alertTransitions)}
      WHERE to_state = 'acknowledged' GROUP BY id
    ) AS ack ON ack.ack_id = i.id
    ORDER BY rule, id
    SETTINGS join_use_nulls = 1`)
  return rows.map(fromRow)
}

/** New versions of instances; the version orders writes within one millisecond too. */
export async function saveInstances(store: Store, instances: readonly AlertInstance[], nowMs: number) {
  if (instances.length === 0) return
  const rows = instances.map(
    (
      a,
      i,
    ) => sql`(${a.id}, ${nowMs * 1000 + (i % 1000)}, ${a.rule}, ${a.severity}, ${mapOf(a.labels)}, ${a.state},
      ${a.reason}, ${float(a.value)}, ${new Date(a.sinceMs)}, ${nullableTime(a.firedAtMs)}, ${new Date(a.evaluatedAtMs)},
      ${a.suppressedBy})`,
  )
  await store.command(sql`
    INSERT INTO ${table(TABLES.alertInstances)} (id, version, rule, severity, labels, state, reason, value, since,
      fired_at, evaluated_at, suppressed_by)
    VALUES ${join(rows, ', ')}`)
}

export interface TransitionRecord {
  readonly atMs: number
  readonly id: string
  readonly rule: string
  readonly severity: string
  readonly labels: Readonly<Record<string, string>>
  readonly from: string
  readonly to: string
  readonly reason: string
  readonly value: number | null
  readonly actor?: string
}

export async function appendTransitions(store: Store, transitions: readonly TransitionRecord[]) {
  if (transitions.length === 0) return
  const rows = transitions.map(
    (
      t,
    ) => sql`(${new Date(t.atMs)}, ${t.id}, ${t.rule}, ${t.severity}, ${mapOf(t.labels)}, ${t.from}, ${t.to},
      ${t.reason}, ${float(t.value)}, ${t.actor ?? ''})`,
  )
  await store.command(sql`
    INSERT INTO ${table(TABLES.alertTransitions)} (at, id, rule, severity, labels, from_state, to_state, reason, value, actor)
    VALUES ${join(rows, ', ')}`)
}

export interface TransitionRow {
  readonly at_ms: string
  readonly id: string
  readonly rule: string
  readonly severity: string
  readonly labels: Record<string, string>
  readonly from_state: string
  readonly to_state: string
  readonly reason: string
  readonly actor: string
}

export async function listTransitions(store: Store, filter: { id?: string; since: Date; limit: number }) {
  return store.query<TransitionRow>(sql`
    SELECT toString(toUnixTimestamp64Milli(at)) AS at_ms, id, rule, severity, labels, from_state, to_state, reason, actor
    FROM ${table(TABLES.alertTransitions)}
    WHERE at >= ${filter.since} ${filter.id ? sql`AND id = ${filter.id}` : sql``}
    ORDER BY at DESC
    LIMIT ${filter.limit}`)
}

export interface Silence {
  readonly id: string
  readonly matchers: ReadonlyArray<{ name: string; op: string; value: string }>
  readonly startsAtMs: number
  readonly endsAtMs: number
  readonly createdBy: string
  readonly comment: string
  readonly createdAtMs: number
}

export async function saveSilence(store: Store, s: Silence, nowMs: number) {
  await store.command(sql`
    INSERT INTO ${table(TABLES.silences)} (id, version, matchers, starts_at, ends_at, created_by, comment, created_at)
    VALUES (${s.id}, ${nowMs}, arrayZip(${s.matchers.map((m) => m.name)}, ${s.matchers.map((m) => m.op)},
      ${s.matchers.map((m) => m.value)}), ${new Date(s.startsAtMs)}, ${new Date(s.endsAtMs)}, ${s.createdBy},
      ${s.comment}, ${new Date(s.createdAtMs)})`)
}

/** Silences that have not ended by `sinceMs` (active or scheduled), newest first. */
export async function listSilences(store: Store, sinceMs: number): Promise<Silence[]> {
  const rows = await store.query<{
    id: string
    matchers: Array<{ name: string; op: string; value: string }>
    starts_ms: string
    ends_ms: string
    created_by: string
    comment: string
    created_ms: string
  }>(sql`
    SELECT id, matchers, toUnixTimestamp64Milli(starts_at) AS starts_ms, toUnixTimestamp64Milli(ends_at) AS ends_ms,
      created_by, comment, toUnixTimestamp64Milli(created_at) AS created_ms
    FROM ${table(TABLES.silences)} FINAL
    WHERE ends_at > ${new Date(sinceMs)}
    ORDER BY created_at DESC`)
  return rows.map((r) => ({
    id: r.id,
    matchers: r.matchers,
    startsAtMs: Number(r.starts_ms),
    endsAtMs: Number(r.ends_ms),
    createdBy: r.created_by,
    comment: r.comment,
    createdAtMs: Number(r.created_ms),
  }))
}

export interface GroupState {
  readonly key: string
  readonly receiver: string
  readonly sentAtMs: number
  /** The alerts and their states in the last notification, to tell a change from a repeat. */
  readonly fingerprint: string
  readonly firing: number
}

export async function listGroups(store: Store): Promise<Map<string, GroupState>> {
  const rows = await store.query<{
    key: string
    receiver: string
    sent_ms: string
    fingerprint: string
    firing: number
  }>(sql`
    SELECT key, receiver, toUnixTimestamp64Milli(sent_at) AS sent_ms, fingerprint, firing
    FROM ${table(TABLES.alertGroups)} FINAL`)
  return new Map(
    rows.map((r) => [
      r.key,
      {
        key: r.key,
        receiver: r.receiver,
        sentAtMs: Number(r.sent_ms),
        fingerprint: r.fingerprint,
        firing: r.firing,
      },
    ]),
  )
}

/** `atMs` orders the writes (a save that keeps the group's last send time, an acknowledgement, is later). */
export async function saveGroup(store: Store, g: GroupState, atMs = g.sentAtMs) {
  await store.command(sql`
    INSERT INTO ${table(TABLES.alertGroups)} (key, version, receiver, sent_at, fingerprint, firing)
    VALUES (${g.key}, ${atMs * 1000 + (g.firing % 1000)}, ${g.receiver}, ${new Date(g.sentAtMs)}, ${g.fingerprint}, ${g.firing})`)
}

export interface DeliveryAttempt {
  readonly atMs: number
  readonly notificationId: string
  readonly groupKey: string
  readonly receiver: string
  readonly channel: string
  readonly status: 'firing' | 'resolved' | 'acknowledged'
  readonly alertIds: readonly string[]
  readonly attempt: number
  readonly outcome: 'delivered' | 'retrying' | 'failed' | 'not_configured'
  readonly httpStatus: number
  readonly error: string
}

export async function appendDelivery(store: Store, d: DeliveryAttempt) {
  await store.command(sql`
    INSERT INTO ${table(TABLES.notifications)} (at, notification_id, group_key, receiver, channel, status, alert_ids,
      attempt, outcome, http_status, error)
    VALUES (${new Date(d.atMs)}, ${d.notificationId}, ${d.groupKey}, ${d.receiver}, ${d.channel}, ${d.status},
      ${[...d.alertIds]}, ${d.attempt}, ${d.outcome}, ${d.httpStatus}, ${d.error})`)
}

export interface DeliveryRow {
  readonly at_ms: string
  readonly notification_id: string
  readonly group_key: string
  readonly receiver: string
  readonly channel: string
  readonly status: string
  readonly alert_ids: string[]
  readonly attempt: number
  readonly outcome: string
  readonly http_status: number
  readonly error: string
}

export async function listDeliveries(store: Store, filter: { since: Date; alertId?: string; limit: number }) {
  return store.query<DeliveryRow>(sql`
    SELECT toString(toUnixTimestamp64Milli(at)) AS at_ms, notification_id, group_key, receiver, channel, status,
      alert_ids, attempt, outcome, http_status, error
    FROM ${table(TABLES.notifications)}
    WHERE at >= ${filter.since} ${filter.alertId ? sql`AND has(alert_ids, ${filter.alertId})` : sql``}
    ORDER BY at DESC
    LIMIT ${filter.limit}`)
}

/** A lease's term for work done every `tickMs`: three ticks, and at least 30 s. */
export const leaseTermMs = (tickMs: number) => Math.max(3 * tickMs, 30_000)

/**
 * Whether `holder` leads the lease's current term at `nowMs` (claiming it if nobody has). In its
 * term's last tick and a half the holder claims the next term, ahead of anyone who waits for it to
 * begin, so leadership does not flap at the boundary. Not sooner: a holder that dies earlier has not
 * claimed the next term, and a standby leads from its start. So a standby takes over at most a term
 * and a tick and a half after the holder's last tick.
 */
export async function leads(
  store: Store,
  lease: { readonly name: string; readonly holder: string; readonly termMs: number; readonly tickMs: number },
  nowMs: number,
): Promise<boolean> {
  const { termMs } = lease
  const term = Math.floor(nowMs / termMs)
  if ((await claimLease(store, lease.name, term, lease.holder, nowMs)) !== lease.holder) return false
  if ((term + 1) * termMs - nowMs <= 1.5 * lease.tickMs)
    await claimLease(store, lease.name, term + 1, lease.holder, nowMs)
  return true
}

/** Claims a lease term and returns who holds it: the earliest claim (ties broken by holder). */
export async function claimLease(
  store: Store,
  name: string,
  term: number,
  holder: string,
  claimedAtMs: number,
) {
  await store.command(sql`
    INSERT INTO ${table(TABLES.leases)} (name, term, holder, claimed_at)
    SELECT ${name}, ${term}, ${holder}, ${new Date(claimedAtMs)}
    WHERE NOT EXISTS (SELECT 1 FROM ${table(TABLES.leases)} WHERE name = ${name} AND term = ${term} AND holder = ${holder})`)
  const [row] = await store.query<{ holder: string }>(sql`
    SELECT argMin(holder, (claimed_at, holder)) AS holder FROM ${table(TABLES.leases)}
    WHERE name = ${name} AND term = ${term}`)
  return row?.holder ?? ''
}
