import { createHash, timingSafeEqual } from 'node:crypto'
import type { Store } from '../store/client.ts'
import type { Role } from './permissions.ts'
import type { Scope } from './scope.ts'
import { createToken, type Identity, revokeToken, verifyToken } from './tokens.ts'

/**
 * Browser sessions after single sign-on: a session is a token of kind `session` (hashed in the
 * store, expiring, revocable like any token) carried in an HTTP-only, same-site cookie. Requests
 * that change state must also send the session's CSRF token in a header, which a page on another
 * origin can neither read nor forge.
 */
export const SESSION_COOKIE = 'signalbox_session'
export const CSRF_HEADER = 'x-csrf-token'

export async function createSession(
  store: Store,
  s: { name: string; role: Role; scope: Scope; issuer: string; hours: number },
): Promise<string> {
  const { token } = await createToken(store, {
    name: s.name,
    kind: 'session',
    role: s.role,
    createdBy: `sso ${s.issuer}`,
    expiresInMs: s.hours * 3_600_000,
    scope: s.scope,
  })
  return token
}

export function verifySession(store: Store, cookie: string): Promise<Identity | string> {
  return verifyToken(store, `Bearer ${cookie}`, { session: true })
}

/** The CSRF token of a session: derived from its secret, so nothing more is stored. */
export function csrfTokenFor(cookie: string): string {
  return createHash('sha256').update(`csrf|${cookie}`).digest('base64url')
}

export function csrfMatches(cookie: string, header: string | undefined): boolean {
  const expected = Buffer.from(csrfTokenFor(cookie))
  const given = Buffer.from(header ?? '')
  return given.length === expected.length && timingSafeEqual(given, expected)
}

export async function endSession(store: Store, cookie: string): Promise<void> {
  const identity = await verifySession(store, cookie)
  if (typeof identity !== 'string') await revokeToken(store, identity.tokenId)
}
