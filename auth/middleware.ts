import type { MiddlewareHandler } from 'hono'
import type { Store } from '../store/client.ts'
import { allowed, permissionFor } from './permissions.ts'
import { type Identity, verifyToken } from './tokens.ts'

export type AuthMode = 'none' | 'tokens'

/** Who made a request, once the middleware let it through (none without authentication). */
const identities = new WeakMap<Request, Identity>()
export const identityOf = (req: Request): Identity | undefined => identities.get(req)

const refuse = (status: 401 | 403, code: string, message: string) =>
  new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: {
      'content-type': 'application/json',
      ...(status === 401 ? { 'www-authenticate': 'Bearer realm="signalbox"' } : {}),
    },
  })

/**
 * One check in front of every route: the route's permission from the table, the caller's token, its
 * role. Without authentication configured (loopback only, see cli/runtime.ts) everything passes.
 */
export function authorize(mode: AuthMode, store: Store): MiddlewareHandler {
  return async (c, next) => {
    if (mode === 'none') return next()
    const needed = permissionFor(c.req.method, c.req.path)
    if (needed === undefined)
      return refuse(403, 'forbidden', `no permission is declared for ${c.req.method} ${c.req.path}`)
    if (needed === 'public') return next()
    const identity = await verifyToken(store, c.req.header('authorization'))
    if (typeof identity === 'string') return refuse(401, 'unauthenticated', identity)
    if (!allowed(identity.role, needed))
      return refuse(
        403,
        'forbidden',
        `the ${identity.role} role may not ${c.req.method} ${c.req.path} (needs ${needed})`,
      )
    identities.set(c.req.raw, identity)
    return next()
  }
}

/** Can a caller with this Authorization header do this at the collector? undefined when yes. */
export type CollectorCheck = (
  authorization: string | undefined,
  needed: 'ingest' | 'viewer',
) => Promise<{ status: 401 | 403; message: string } | undefined>

/**
 * The collector's check: writing telemetry needs an ingestion key (or an admin token), reading
 * `/metrics` a viewer token. Without authentication configured everything passes.
 */
export function collectorCheck(mode: AuthMode, store: Store): CollectorCheck {
  return async (authorization, needed) => {
    if (mode === 'none') return undefined
    const identity = await verifyToken(store, authorization)
    if (typeof identity === 'string') return { status: 401, message: identity }
    if (!allowed(identity.role, needed))
      return {
        status: 403,
        message: `the ${identity.role} role may not ${needed === 'ingest' ? 'write telemetry' : 'read metrics'}`,
      }
    return undefined
  }
}
