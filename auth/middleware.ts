import { setMaxListeners } from 'node:events'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { Context } from 'hono'
import { getCookie } from 'hono/cookie'
import { createMiddleware } from 'hono/factory'
import type { Logger } from '../core/logger.ts'
import { readingAs } from '../core/reading.ts'
import type { Store } from '../store/client.ts'
import { appendAudit } from '../store/queries/audit.ts'
import { allowed, type Permission } from './permissions.ts'
import { LookupGuard } from './rate-limit.ts'
import { limitsReads, type Scope, UNSCOPED } from './scope.ts'
import { CSRF_HEADER, csrfMatches, SESSION_COOKIE, verifySession } from './sessions.ts'
import { type Identity, tokenIdOf, verifyToken } from './tokens.ts'

export type AuthMode = 'none' | 'tokens'

/** The header callers name themselves with when Signalbox has no authentication. */
export const IDENTITY_HEADER = 'x-signalbox-user'

/**
 * What the auth middleware leaves in the context (`c.var`) for every route after it, as Hono's own
 * middleware does (`requestId`, `jwtPayload`).
 */
export interface AuthVariables {
  /** Who made the request: undefined without authentication (loopback only) or on a public route. */
  identity: Identity | undefined
  /** The flows, channels and systems the request is limited to (unlimited without authentication). */
  scope: Scope
  /**
   * Who is acting, for audit trails: the token's name when authentication is on, otherwise the
   * `x-signalbox-user` header; empty when nobody said (see `actingUser` for a name in the body).
   */
  actor: string
  /** What an action changed beyond what its route and path say, for the audit log (`auditChange`). */
  auditDetail: string | undefined
}

export type AuthEnv = { Variables: AuthVariables }

/** Any route's context, whatever else its environment holds: what the helpers below read. */
export interface AuthContext {
  readonly var: Readonly<AuthVariables>
}

/** A route as the auth middleware needs to know it: its name for the audit log and who may call it. */
export interface RouteGrant {
  /** `METHOD /path/:param`, as declared. */
  readonly key: string
  readonly permission: Permission
}

const clip = (name: string) => name.trim().slice(0, 200)

/**
 * Who is acting: the token's name when authentication is on, whatever the caller claims; otherwise
 * the name the caller gives (`by` in a body) or the `x-signalbox-user` header. Empty when nobody said.
 */
export function actorOf(c: AuthContext, claimed?: string): string {
  return c.var.identity ? c.var.actor : clip(claimed ?? c.var.actor)
}

/**
 * May this request see personal data in clear (encrypted exception payload fields)? Operators and
 * admins may: they replay with it. Support and viewers see it masked. Without authentication
 * (loopback only) the one local user may.
 */
export function readsPersonalData(c: AuthContext): boolean {
  const identity = c.var.identity
  return !identity || identity.role === 'operator' || identity.role === 'admin'
}

/**
 * Keeps this request in the audit log, whoever may call its route, with what it changed: for an
 * action that matters beyond its caller's role (a connector taking over another's callback).
 */
export function auditChange(c: { set(key: 'auditDetail', value: string): void }, detail: string): void {
  c.set('auditDetail', detail.slice(0, 2000))
}

/** The request id the api's other errors carry (hono/request-id), so a refusal can be found in the log. */
const requestIdOf = (c: Context) => (c.get('requestId' as never) as string | undefined) ?? ''

const tooMany = (c: Context, retryAfterSeconds: number, message: string) =>
  new Response(JSON.stringify({ error: { code: 'rate_limited', message, requestId: requestIdOf(c) } }), {
    status: 429,
    headers: { 'content-type': 'application/json', 'retry-after': String(retryAfterSeconds) },
  })

const refuse = (c: Context, status: 401 | 403, code: string, message: string) =>
  new Response(JSON.stringify({ error: { code, message, requestId: requestIdOf(c) } }), {
    status,
    headers: {
      'content-type': 'application/json',
      ...(status === 401 ? { 'www-authenticate': 'Bearer realm="signalbox"' } : {}),
    },
  })

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** Actions kept in the audit log: anything but a read, by an operator or an admin. */
const audited = (method: string, needed: Permission | undefined) =>
  method !== 'GET' && method !== 'HEAD' && (needed === 'operator' || needed === 'admin')

function remoteOf(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? ''
  } catch {
    return '' // not served by the Node server (a test calling app.fetch)
  }
}

export interface AuthenticateOptions {
  readonly mode: AuthMode
  readonly store: Store
  readonly log: Logger
  /**
   * The route a request reached and who may call it (api/policy.ts reads each route's declaration);
   * `'undeclared'` for a route that declared nothing (refused to everyone), undefined for no route.
   */
  readonly grantOf: (c: Context) => RouteGrant | 'undeclared' | undefined
  readonly perMinute?: number
}

/**
 * Telemetry, connector registrations and exception reports are sorted by flow, channel and system
 * only once stored: a token limited to those could write for any of them (or take a connector's
 * callback over). Writing stays with unscoped admins and ingestion keys, unscoped or limited to
 * sources (an ingestion key stored with a flow scope by an earlier version writes nothing).
 */
const writesUnsorted = (scope: Scope) => limitsReads(scope) && !scope.sources
const UNSORTED_WRITER =
  'a token limited to flows, channels or systems may not write telemetry: write with an ingestion key limited to sources'

/**
 * One check in front of every route: the permission the route declares, the caller's token or
 * session, its role. Without authentication configured (loopback only, see cli/runtime.ts) every
 * declared route passes. Puts the identity, its scope and the actor in `c.var`. Operator and admin
 * actions are written to the audit log with who, what, when and from where.
 */
export function authenticate({ mode, store, log, grantOf, perMinute = 1200 }: AuthenticateOptions) {
  const guard = new LookupGuard(perMinute)
  return createMiddleware<AuthEnv>(async function authenticate(c, next) {
    c.set('identity', undefined)
    c.set('scope', UNSCOPED)
    c.set('actor', clip(c.req.header(IDENTITY_HEADER) ?? ''))
    c.set('auditDetail', undefined)
    const grant = grantOf(c)
    if (grant === 'undeclared')
      return refuse(c, 403, 'forbidden', `no permission is declared for ${c.req.method} ${c.req.path}`)
    const needed = grant?.permission
    let identity: Identity | undefined
    if (mode === 'tokens' && needed !== undefined && needed !== 'public') {
      // A bearer token when one is sent; otherwise the browser's single sign-on session, whose
      // changes must carry its CSRF token (a cookie is sent by the browser to any page's request).
      const bearer = c.req.header('authorization')
      const cookie = bearer ? undefined : getCookie(c, SESSION_COOKIE)
      // The token's rate, and the lookups of tokens not seen lately, are held before the store is asked.
      const id = tokenIdOf(cookie ? `Bearer ${cookie}` : bearer)
      const held = id === undefined ? undefined : guard.before(id)
      if (held) return tooMany(c, held.seconds, held.message)
      const found = cookie ? await verifySession(store, cookie) : await verifyToken(store, bearer)
      if (id !== undefined) guard.after(id, typeof found !== 'string')
      if (typeof found === 'string') return refuse(c, 401, 'unauthenticated', found)
      if (cookie && !SAFE_METHODS.has(c.req.method) && !csrfMatches(cookie, c.req.header(CSRF_HEADER)))
        return refuse(
          c,
          403,
          'csrf',
          `a change from a signed-in browser needs the session's ${CSRF_HEADER} header`,
        )
      if (needed === 'ingest' && writesUnsorted(found.scope))
        return refuse(c, 403, 'forbidden', UNSORTED_WRITER)
      if (!allowed(found.role, needed))
        return refuse(
          c,
          403,
          'forbidden',
          `the ${found.role} role may not ${c.req.method} ${c.req.path} (needs ${needed})`,
        )
      identity = found
      c.set('identity', found)
      c.set('scope', found.scope)
      c.set('actor', clip(found.name))
    }
    // The store's reads for this request wait their turn as this token's (or, without tokens, this
    // address's), and are dropped if it goes away first (store/read-lanes.ts).
    const caller = identity ? `token ${identity.tokenId}` : `address ${remoteOf(c)}`
    // Only a read's reads are dropped with it: a change (a replay) that went ahead records how it
    // ended whether or not its caller still listens.
    const signal = SAFE_METHODS.has(c.req.method) ? c.req.raw.signal : undefined
    // Each of a request's waiting reads listens on its signal: many at once are not a leak.
    if (signal) setMaxListeners(0, signal)
    await readingAs(caller, signal, next)
    // No declared route matched: only a 404 may come back. Anything else answered it (a middleware
    // added later with `.use` or `.all`) would have skipped the check above, so it is refused.
    if (grant === undefined && c.res.status !== 404) {
      c.res = undefined
      c.res = refuse(c, 403, 'forbidden', `no permission is declared for ${c.req.method} ${c.req.path}`)
      return
    }
    const detail = c.var.auditDetail
    if (!audited(c.req.method, needed) && detail === undefined) return
    await appendAudit(store, {
      atMs: Date.now(),
      actor: c.var.actor || 'local',
      role: identity?.role ?? 'none (no authentication)',
      tokenId: identity?.tokenId ?? '',
      method: c.req.method,
      route: grant?.key ?? '',
      path: c.req.path.slice(0, 500),
      status: c.res.status,
      remote: remoteOf(c),
      requestId: c.res.headers.get('x-request-id') ?? '',
      detail,
    }).catch((err) => log.error({ err }, 'audit log write failed'))
  })
}
export interface CollectorRefusal {
  readonly status: 401 | 403 | 429
  readonly message: string
  readonly retryAfterSeconds?: number
}

/**
 * Can a caller with this Authorization header do this at the collector? A refusal, or what the
 * caller may write: `sources` when its ingestion key is limited to some (undefined: any).
 */
export type CollectorCheck = (
  authorization: string | undefined,
  needed: 'ingest' | 'viewer',
) => Promise<{ refused?: CollectorRefusal; sources?: readonly string[] }>

/**
 * The collector's check: writing telemetry needs an ingestion key (or an admin token), reading
 * `/metrics` a viewer token. Without authentication configured everything passes.
 */
export function collectorCheck(mode: AuthMode, store: Store, perMinute = 12_000): CollectorCheck {
  const guard = new LookupGuard(perMinute)
  return async (authorization, needed) => {
    if (mode === 'none') return {}
    // The key's rate, and the lookups of keys not seen lately, are held before the store is asked.
    const id = tokenIdOf(authorization)
    const held = id === undefined ? undefined : guard.before(id)
    if (held) return { refused: { status: 429, message: held.message, retryAfterSeconds: held.seconds } }
    const identity = await verifyToken(store, authorization)
    if (id !== undefined) guard.after(id, typeof identity !== 'string')
    if (typeof identity === 'string') return { refused: { status: 401, message: identity } }
    if (!allowed(identity.role, needed))
      return {
        refused: {
          status: 403,
          message: `the ${identity.role} role may not ${needed === 'ingest' ? 'write telemetry' : 'read metrics'}`,
        },
      }
    if (needed === 'ingest' && writesUnsorted(identity.scope))
      return { refused: { status: 403, message: UNSORTED_WRITER } }
    return { sources: identity.scope.sources }
  }
}
