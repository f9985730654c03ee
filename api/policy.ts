import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { matchedRoutes } from 'hono/route'
import type { RouterRoute } from 'hono/types'
import type { AuthVariables, RouteGrant } from '../auth/middleware.ts'
import type { Permission } from '../auth/permissions.ts'
import { OutOfScopeError, type Scope } from '../auth/scope.ts'
import { listInstances, listSilences } from '../store/queries/alerts.ts'
import { registeredConnector } from '../store/queries/connectors.ts'
import { getException } from '../store/queries/exceptions.ts'
import { listJobs, type ReplayJob } from '../store/queries/replays.ts'
import { traceWindow } from '../store/queries/traces.ts'
import { Visibility, type VisibilityDeps } from './visibility.ts'

/**
 * Route policy, declared where each route is defined:
 *
 *   .get('/flows/:flow/stuck', describeRoute(…), policy({ role: 'viewer', scope: { param: 'flow', names: 'flow', narrowed: true } }), …)
 *
 * `role` is the least role that may call the route (auth/permissions.ts); the auth middleware finds
 * the declaration of the route a request reached and refuses a route that declares none. `scope` says
 * how the route keeps to the caller's scope (flows, channels, systems; see api/visibility.ts):
 *
 * - `'none'`: the route returns no entity data (health, the api's reference, sign-in);
 * - `'unscoped'`: only callers without a scope (tokens and the audit log, which span everything);
 * - `{ param, names }`: a path parameter names a flow, an exception, an alert…; the policy refuses
 *   one outside the scope before the handler runs (`{ entity, id }` for an entity: its type, or
 *   `:param` for a type in the path, and the parameter with its id);
 * - `'narrowed'` (or `narrowed: true` beside a parameter): the handler narrows what it reads through
 *   `scoped(c)`. A scoped request whose handler answers without calling it fails (500) rather
 *   than answer unnarrowed, so a forgotten check shows up in the first test that calls the route.
 *
 * test/auth/permissions.test.ts fails for a route of the app that declares no policy, and
 * docs/routes.md is generated from the declarations (`npm run docs:routes`).
 */
export interface Policy {
  readonly role: Permission
  readonly scope: ScopeRule
}

/** The things a path parameter can name, each checked against the scope by the policy. */
export type ParamKind = 'flow' | 'exception' | 'alert' | 'slo' | 'job' | 'connector' | 'trace' | 'silence'

export type ScopeRule =
  | 'none'
  | 'unscoped'
  | 'narrowed'
  | { readonly param: string; readonly names: ParamKind; readonly narrowed?: true }
  | { readonly entity: string; readonly id: string; readonly narrowed?: true }

export interface PolicyVariables {
  /** What this request's scope lets it see; read it in a handler through `scoped(c)`. */
  visibility: Visibility
  /** Whether the handler narrowed its answer through `scoped(c)`. */
  narrowed: boolean
}

/** The api's context: who is asking (auth/middleware.ts) and what they may see. */
export type ApiEnv = { Variables: AuthVariables & PolicyVariables }

const POLICY = Symbol('signalbox.policy')
type Declared = { readonly [POLICY]?: Policy }

/**
 * The one way a handler reads the caller's scope: what it may see, to narrow its answer with. Marks
 * the request as narrowed (see `Policy`).
 */
export function scoped(c: Context<ApiEnv>): Visibility {
  c.set('narrowed', true)
  return c.var.visibility
}

/** The creator's scope a bulk replay job keeps in its filter (jobs made by scoped callers). */
export const jobScope = (job: ReplayJob): Scope =>
  (JSON.parse(job.filter) as { scope?: Scope } | null)?.scope ?? {}

/** Is the thing a path parameter names within the scope? True for one that does not exist (the handler says 404). */
const CHECKS: { [K in ParamKind]: (v: Visibility, id: string) => Promise<boolean> } = {
  flow: async (v, name) => v.flow(name),
  exception: async (v, id) => {
    const e = await getException(v.deps.store, id)
    return !e || (await v.exceptions([e])).length === 1
  },
  alert: async (v, id) => {
    const [a] = await listInstances(v.deps.store, { id })
    return !a || (await v.alerts())(a)
  },
  slo: async (v, id) => {
    const slo = v.deps.slos.find((s) => s.id === id)
    return !slo || v.slo(slo)
  },
  job: async (v, id) => {
    const [job] = await listJobs(v.deps.store, { id })
    return !job || v.contains(jobScope(job))
  },
  connector: async (v, id) => {
    const c = await registeredConnector(v.deps.store, id)
    return !c || v.connector(c)
  },
  trace: async (v, id) => {
    const traceId = id.toLowerCase()
    return !(await traceWindow(v.deps.store, traceId)) || v.trace(traceId)
  },
  silence: async (v, id) => {
    const silence = (await listSilences(v.deps.store, Date.now())).find((s) => s.id === id)
    return !silence || v.silence(silence.matchers).confined
  },
}

const narrows = (rule: ScopeRule) =>
  rule === 'narrowed' || (typeof rule === 'object' && rule.narrowed === true)

/** A route's declaration, as route middleware: enforces what can be checked before the handler runs. */
export function policy(declared: Policy) {
  const { scope: rule } = declared
  const middleware = createMiddleware<ApiEnv>(async function policy(c, next) {
    const v = c.var.visibility
    if (v.limited) {
      if (rule === 'unscoped') throw new OutOfScopeError('this route is for tokens without a scope')
      if (typeof rule === 'object') {
        const param = (name: string) => c.req.param(name) ?? ''
        const seen =
          'entity' in rule
            ? await v.entity({
                type: rule.entity.startsWith(':') ? param(rule.entity.slice(1)) : rule.entity,
                id: param(rule.id),
              })
            : await CHECKS[rule.names](v, param(rule.param))
        if (!seen)
          throw new OutOfScopeError(
            `the ${'entity' in rule ? (rule.entity.startsWith(':') ? 'entity' : rule.entity) : rule.names} named in the path is outside this token's scope`,
          )
      }
    }
    await next()
    if (narrows(rule) && v.limited && !c.var.narrowed && c.res.status < 400)
      throw new Error(
        `${c.req.method} ${c.req.routePath} declares that its handler narrows to the scope, but it answered without scoped(c)`,
      )
  })
  return Object.assign(middleware, { [POLICY]: declared })
}

/** Puts what the caller's scope lets it see in the context, for the policies and handlers after it. */
export function visibilityFor(deps: VisibilityDeps) {
  return createMiddleware<ApiEnv>(async function visibility(c, next) {
    c.set('visibility', new Visibility(c.var.scope, deps))
    c.set('narrowed', false)
    await next()
  })
}

/**
 * The declared route a request reached and who may call it, for the auth middleware: the first
 * route (not middleware) the router matched is the one that answers, and its policy is among the
 * handlers registered with it. `'undeclared'` when it has none; undefined when no route matched.
 */
export function grantOf(c: Context): RouteGrant | 'undeclared' | undefined {
  const matched = matchedRoutes(c)
  const route = matched.find((r) => r.method !== 'ALL')
  if (!route) return undefined
  const declared = matched.find(
    (r) => r.method === route.method && r.path === route.path && (r.handler as Declared)[POLICY],
  )
  const found = declared && (declared.handler as Declared)[POLICY]
  if (!found) return 'undeclared'
  return { key: `${route.method} ${route.path}`, permission: found.role }
}

/** Every route of an app (`METHOD /path`) with its declared policy, or undefined where it declares none. */
export function declaredPolicies(app: { readonly routes: readonly RouterRoute[] }) {
  const routes = new Map<string, Policy | undefined>()
  for (const r of app.routes) {
    if (r.method === 'ALL') continue
    const k = `${r.method} ${r.path}`
    routes.set(k, routes.get(k) ?? (r.handler as Declared)[POLICY])
  }
  return routes
}

/** A scope rule in words, for docs/routes.md. */
export function describeScope(rule: ScopeRule): string {
  if (rule === 'none') return 'none (not entity data)'
  if (rule === 'unscoped') return 'tokens without a scope only'
  if (rule === 'narrowed') return 'narrowed in the handler'
  const then = rule.narrowed ? ', then narrowed in the handler' : ''
  if ('entity' in rule) {
    const type = rule.entity.startsWith(':')
      ? `the entity whose type is \`${rule.entity}\``
      : `the ${rule.entity}`
    return `\`:${rule.id}\` names ${type}, checked${then}`
  }
  return `\`:${rule.param}\` names ${/^[aeiou]/.test(rule.names) ? 'an' : 'a'} ${rule.names}, checked${then}`
}
