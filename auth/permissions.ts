/**
 * Who may call what. Roles are ranked; each includes the ones before it. `ingest` is apart: keys
 * for the collector and the connector endpoints, which can write telemetry and read nothing.
 */
export const ROLES = ['viewer', 'support', 'operator', 'admin', 'ingest'] as const
export type Role = (typeof ROLES)[number]

const RANK: Record<Exclude<Role, 'ingest'>, number> = { viewer: 1, support: 2, operator: 3, admin: 4 }

/** How far up the ranks a role is (ingest: 0, outside them). */
export const roleRank = (role: Role): number => (role === 'ingest' ? 0 : RANK[role])

/** `public`: no token needed; a role: that role or a higher one; `ingest`: ingestion keys (and admins). */
export type Permission = 'public' | Role

/**
 * Every route of the api, by method and Hono path, with the least role that may call it. A route
 * missing here is refused to everyone, and a test fails (test/auth/permissions.test.ts).
 */
export const ROUTE_PERMISSIONS: Readonly<Record<string, Permission>> = {
  'GET /': 'public',
  'GET /assets/*': 'public',
  'GET /api/health': 'public',
  // Single sign-on and the browser session: open to all, each checks what it needs itself.
  'GET /auth/login': 'public',
  'GET /auth/callback': 'public',
  'GET /auth/session': 'public',
  'POST /auth/logout': 'public',
  'GET /api/openapi.json': 'viewer',
  'GET /api/reference': 'viewer',
  // Dashboards: flows, SLOs, alerts, the system map, connectors.
  'GET /api/flows': 'viewer',
  'GET /api/flows/:flow/stuck': 'viewer',
  'GET /api/flows/:flow/metrics': 'viewer',
  'GET /api/systems/map': 'viewer',
  'GET /api/systems/calls': 'viewer',
  'GET /api/slos': 'viewer',
  'GET /api/slos/:id': 'viewer',
  'GET /api/alerts': 'viewer',
  'GET /api/alerts/:id': 'viewer',
  'GET /api/silences': 'viewer',
  'GET /api/notifications': 'viewer',
  'GET /api/connectors': 'viewer',
  // Single entities: orders, returns, traces, events, search, exceptions and the replay trail.
  'GET /api/flows/:flow/entities': 'support',
  'GET /api/entities/:type/:id/lifecycle': 'support',
  'GET /api/orders/:id/lifecycle': 'support',
  'GET /api/returns/:id/lifecycle': 'support',
  'GET /api/traces/:traceId': 'support',
  'GET /api/events': 'support',
  'GET /api/search': 'support',
  'GET /api/inventory/:sku': 'support',
  'GET /api/prices/conflicts': 'support',
  'GET /api/prices/:sku': 'support',
  'GET /api/exceptions': 'support',
  'GET /api/replays': 'support',
  'GET /api/replay-jobs': 'support',
  'GET /api/replay-jobs/:id': 'support',
  // Acting: replays, re-syncs, acknowledgements, silences.
  'POST /api/exceptions/:id/replay': 'operator',
  'POST /api/exceptions/:id/ignore': 'operator',
  'POST /api/exceptions/replay': 'operator',
  'POST /api/entities/:type/:id/resync': 'operator',
  'POST /api/replay-jobs/:id/:action': 'operator',
  'POST /api/connectors/:id/probe': 'operator',
  'POST /api/alerts/:id/ack': 'operator',
  'POST /api/silences': 'operator',
  'DELETE /api/silences/:id': 'operator',
  // Administration.
  'GET /api/tokens': 'admin',
  'POST /api/tokens': 'admin',
  'DELETE /api/tokens/:id': 'admin',
  'GET /api/audit': 'admin',
  // Connectors report exceptions and register themselves with their keys.
  'POST /api/exceptions': 'ingest',
  'POST /api/connectors': 'ingest',
}

export function allowed(role: Role, needed: Permission): boolean {
  if (needed === 'public') return true
  if (needed === 'ingest') return role === 'ingest' || role === 'admin'
  if (role === 'ingest') return false
  return RANK[role] >= RANK[needed]
}

const compiled = Object.entries(ROUTE_PERMISSIONS).map(([key, permission]) => {
  const [method, path] = key.split(' ') as [string, string]
  const pattern = path
    .replace(/[.]/g, '\\.')
    .replace(/:[a-zA-Z]+/g, '[^/]+')
    .replace(/\*$/, '.*')
  return { key, method, regex: new RegExp(`^${pattern}$`), permission, specificity: path.split(':').length }
})

/**
 * The declared route a request matches (`POST /api/exceptions/:id/replay`) and the permission it
 * needs, or undefined for a route nobody declared (refused). A literal path wins over a parameter
 * in the same place (`/exceptions/replay` vs `/exceptions/:id`).
 */
export function routeFor(method: string, path: string): { key: string; permission: Permission } | undefined {
  const m = method === 'HEAD' ? 'GET' : method
  return compiled
    .filter((r) => r.method === m && r.regex.test(path))
    .sort((a, b) => a.specificity - b.specificity)[0]
}
