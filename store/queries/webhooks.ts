import type { Store } from '../client.ts'
import { join, sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'

/** A signed platform webhook that no mapping turned into a business event (migration 19). */
export interface UnmappedWebhook {
  readonly receivedAtMs: number
  readonly source: string
  readonly topic: string
  readonly webhookId: string
  /** Why it was not mapped, in words an operator can act on. */
  readonly reason: string
  /** The payload as received, redacted and possibly cut short (`payloadBytes` says how long it was). */
  readonly payload: string
  readonly payloadBytes: number
}

export async function recordUnmappedWebhook(store: Store, w: UnmappedWebhook): Promise<void> {
  await store.command(sql`
    INSERT INTO ${table(TABLES.unmappedWebhooks)} (received_at, source, topic, webhook_id, reason, payload, payload_bytes)
    VALUES (${new Date(w.receivedAtMs)}, ${w.source}, ${w.topic}, ${w.webhookId}, ${w.reason}, ${w.payload}, ${w.payloadBytes})`)
}

export interface UnmappedWebhookFilter {
  readonly source?: string
  readonly topic?: string
  readonly from: Date
  readonly to: Date
  readonly limit: number
}

interface UnmappedRow {
  readonly received_at_ms: string
  readonly source: string
  readonly topic: string
  readonly webhook_id: string
  readonly reason: string
  readonly payload: string
  readonly payload_bytes: number
}

/** Newest first; FINAL keeps one row per delivery a platform sent more than once. */
export async function listUnmappedWebhooks(
  store: Store,
  f: UnmappedWebhookFilter,
): Promise<UnmappedWebhook[]> {
  const conditions = [sql`received_at >= ${f.from}`, sql`received_at < ${f.to}`]
  if (f.source) conditions.push(sql`source = ${f.source}`)
  if (f.topic) conditions.push(sql`topic = ${f.topic}`)
  const rows = await store.query<UnmappedRow>(sql`
    SELECT toUnixTimestamp64Milli(received_at) AS received_at_ms, source, topic, webhook_id, reason, payload, payload_bytes
    FROM ${table(TABLES.unmappedWebhooks)} FINAL
    WHERE ${join(conditions, ' AND ')}
    ORDER BY received_at DESC, source, webhook_id
    LIMIT ${f.limit}`)
  return rows.map((r) => ({
    receivedAtMs: Number(r.received_at_ms),
    source: r.source,
    topic: r.topic,
    webhookId: r.webhook_id,
    reason: r.reason,
    payload: r.payload,
    payloadBytes: Number(r.payload_bytes),
  }))
}
