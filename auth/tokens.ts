import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { BadRequestError } from '../core/errors.ts'
import type { Store } from '../store/client.ts'
import { getToken, markTokenUsed, saveToken, type TokenRow } from '../store/queries/tokens.ts'
import { ROLES, type Role } from './permissions.ts'
import { isScoped, limitsReads, parseScope, type Scope } from './scope.ts'

/** `session`: a browser session after single sign-on, carried in a cookie (auth/sessions.ts). */
export type TokenKind = 'personal' | 'service' | 'ingest' | 'session'

export interface Identity {
  readonly tokenId: string
  readonly name: string
  readonly role: Role
  readonly kind: TokenKind
  /** The flows, channels and systems this token is limited to (auth/scope.ts). */
  readonly scope: Scope
}

const PREFIX = 'sbx_'
/** `Bearer sbx_<id>.<secret>`: the id names the row, the secret's hash must match it. */
const BEARER = /^Bearer\s+sbx_([0-9a-f]{16})\.([A-Za-z0-9_-]{20,100})$/i

/** The id a well-formed bearer token names (before any lookup), or undefined. */
export const tokenIdOf = (bearer: string | undefined): string | undefined =>
  bearer === undefined ? undefined : BEARER.exec(bearer.trim())?.[1]?.toLowerCase()
const hash = (secret: string) => createHash('sha256').update(secret).digest('hex')

/**
 * Creates a token and returns it in clear, once: `sbx_<id>.<secret>`. Only the secret's SHA-256 is
 * stored. Ingestion keys get the `ingest` role: they write telemetry and nothing else.
 */
export async function createToken(
  store: Store,
  t: {
    name: string
    kind: TokenKind
    role: Role
    createdBy: string
    expiresInDays?: number
    expiresInMs?: number
    scope?: Scope
  },
): Promise<{ id: string; token: string }> {
  // What an ingestion key writes is sorted by flow, channel and system only once stored: such a limit
  // could not hold, and a key that seems limited must not write for everyone.
  if (t.kind === 'ingest' && t.scope && limitsReads(t.scope))
    throw new BadRequestError(
      'invalid_scope',
      'an ingestion key is limited by sources only (service.name, CloudEvents source, connector), not by flows, channels or systems',
    )
  const id = randomBytes(8).toString('hex')
  const secret = randomBytes(32).toString('base64url')
  const now = Date.now()
  await saveToken(store, {
    id,
    name: t.name,
    kind: t.kind,
    role: t.kind === 'ingest' ? 'ingest' : t.role,
    secretHash: hash(secret),
    createdBy: t.createdBy,
    createdAtMs: now,
    expiresAtMs: t.expiresInMs
      ? now + t.expiresInMs
      : t.expiresInDays
        ? now + t.expiresInDays * 86_400_000
        : null,
    revokedAtMs: null,
    scope: t.scope && isScoped(t.scope) ? JSON.stringify(t.scope) : '',
  })
  return { id, token: `${PREFIX}${id}.${secret}` }
}

export async function revokeToken(store: Store, id: string): Promise<TokenRow | undefined> {
  const row = await getToken(store, id)
  if (!row) return undefined
  await saveToken(store, {
    id,
    name: row.name,
    kind: row.kind,
    role: row.role,
    secretHash: row.secret_hash,
    createdBy: row.created_by,
    createdAtMs: Number(row.created_ms),
    expiresAtMs: row.expires_ms === null ? null : Number(row.expires_ms),
    revokedAtMs: Date.now(),
    scope: row.scope,
  })
  return getToken(store, id)
}

/** When each token's use was last written: at most once a minute, so a busy token costs no writes. */
const lastMarked = new Map<string, number>()

function noteUse(store: Store, id: string): void {
  const now = Date.now()
  if (now - (lastMarked.get(id) ?? 0) < 60_000) return
  lastMarked.set(id, now)
  // Best effort: a lost write only makes "last used" a minute older.
  markTokenUsed(store, id, new Date(now)).catch(() => lastMarked.delete(id))
}

/**
 * The identity behind a bearer token, or why there is none. Read from the store on every request,
 * so expiry and revocation take effect at once; the secret is compared in constant time.
 */
export async function verifyToken(
  store: Store,
  bearer: string | undefined,
  { session = false } = {},
): Promise<Identity | string> {
  if (!bearer) return 'a bearer token is required (Authorization: Bearer sbx_…)'
  const match = BEARER.exec(bearer.trim())
  if (!match) return 'the token is malformed'
  const [, id, secret] = match as unknown as [string, string, string]
  const row = await getToken(store, id)
  const expected = Buffer.from(row?.secret_hash ?? hash('no such token'), 'hex')
  const given = Buffer.from(hash(secret), 'hex')
  if (!row || !timingSafeEqual(expected, given)) return 'the token is not valid'
  if (row.revoked_ms !== null) return 'the token was revoked'
  if (row.expires_ms !== null && Number(row.expires_ms) <= Date.now()) return 'the token has expired'
  if (!(ROLES as readonly string[]).includes(row.role)) return 'the token has no known role'
  // A session works only as its cookie (with CSRF checks), a token only as a bearer.
  if ((row.kind === 'session') !== session) return session ? 'not a session' : 'the token is not valid'
  noteUse(store, row.id)
  return {
    tokenId: row.id,
    name: row.name,
    role: row.role as Role,
    kind: row.kind as TokenKind,
    scope: parseScope(row.scope),
  }
}
