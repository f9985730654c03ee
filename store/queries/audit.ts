import type { Store } from '../client.ts'
import { sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'

export interface AuditEntry {
  readonly atMs: number
  readonly actor: string
  readonly role: string
  readonly tokenId: string
  readonly method: string
  readonly route: string
  readonly path: string
  readonly status: number
  readonly remote: string
  readonly requestId: string
  /** What the action changed, where the route and path do not say. */
  readonly detail?: string
}

export async function appendAudit(store: Store, e: AuditEntry): Promise<void> {
  await store.command(sql`
    INSERT INTO ${table(TABLES.auditLog)} (at, actor, role, token_id, method, route, path, status, remote, request_id, detail)
    VALUES (${new Date(e.atMs)}, ${e.actor}, ${e.role}, ${e.tokenId}, ${e.method}, ${e.route}, ${e.path}, ${e.status},
      ${e.remote}, ${e.requestId}, ${e.detail ?? ''})`)
}

export async function listAudit(store: Store, since: Date, limit: number) {
  return store.query<{
    at_ms: string
    actor: string
    role: string
    token_id: string
    method: string
    route: string
    path: string
    status: number
    remote: string
    request_id: string
    detail: string
  }>(sql`
    SELECT toString(toUnixTimestamp64Milli(at)) AS at_ms, actor, role, token_id, method, route, path, status, remote,
      request_id, detail
    FROM ${table(TABLES.auditLog)}
    WHERE at >= ${since}
    ORDER BY at DESC
    LIMIT ${limit}`)
}
