import type { Store } from '../client.ts'
import { nullableTime, sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'

export interface TokenRow {
  readonly id: string
  readonly name: string
  readonly kind: string
  readonly role: string
  readonly secret_hash: string
  readonly created_by: string
  readonly created_ms: string
  readonly expires_ms: string | null
  readonly revoked_ms: string | null
  /** JSON `{flows?, channels?, systems?, sources?}`; empty: unlimited. */
  readonly scope: string
  /** When it last let a request in (to the minute), or null. */
  readonly last_used_ms?: string | null
}

export async function saveToken(
  store: Store,
  t: {
    id: string
    name: string
    kind: string
    role: string
    secretHash: string
    createdBy: string
    createdAtMs: number
    expiresAtMs: number | null
    revokedAtMs: number | null
    scope: string
  },
): Promise<void> {
  await store.command(sql`
    INSERT INTO ${table(TABLES.apiTokens)} (id, version, name, kind, role, secret_hash, created_by, created_at,
      expires_at, revoked_at, scope)
    VALUES (${t.id}, ${BigInt(Date.now()) * 1000n + (t.revokedAtMs === null ? 0n : 1n)}, ${t.name}, ${t.kind},
      ${t.role}, ${t.secretHash}, ${t.createdBy}, ${new Date(t.createdAtMs)}, ${nullableTime(t.expiresAtMs)},
      ${nullableTime(t.revokedAtMs)}, ${t.scope})`)
}

const COLUMNS = sql`id, name, kind, role, secret_hash, created_by, toUnixTimestamp64Milli(created_at) AS created_ms,
  toUnixTimestamp64Milli(expires_at) AS expires_ms, toUnixTimestamp64Milli(revoked_at) AS revoked_ms, scope`

/** Records that a token was used now. */
export async function markTokenUsed(store: Store, id: string, at: Date): Promise<void> {
  await store.command(sql`INSERT INTO ${table(TABLES.tokenUses)} (id, used_at) VALUES (${id}, ${at})`)
}

export async function getToken(store: Store, id: string): Promise<TokenRow | undefined> {
  const [row] = await store.query<TokenRow>(
    sql`SELECT ${COLUMNS} FROM ${table(TABLES.apiTokens)} FINAL WHERE id = ${id}`,
  )
  return row
}

export async function listTokens(store: Store): Promise<TokenRow[]> {
  return store.query<TokenRow>(sql`
    SELECT t.*, u.last_used_ms FROM (
      SELECT ${COLUMNS}, created_at AS created FROM ${table(TABLES.apiTokens)} FINAL ORDER BY created DESC LIMIT 1000
    ) AS t
    LEFT JOIN (
      SELECT id, toUnixTimestamp64Milli(max(used_at)) AS last_used_ms FROM ${table(TABLES.tokenUses)} GROUP BY id
    ) AS u ON u.id = t.id
    ORDER BY t.created DESC
    SETTINGS join_use_nulls = 1`)
}
