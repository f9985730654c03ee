/**
 * Who may call what. Roles are ranked; each includes the ones before it. `ingest` is apart: keys
 * for the collector and the connector endpoints, which can write telemetry and read nothing. Each
 * route declares the least role it needs where it is defined (api/policy.ts); docs/routes.md lists
 * them all.
 */
export const ROLES = ['viewer', 'support', 'operator', 'admin', 'ingest'] as const
export type Role = (typeof ROLES)[number]

const RANK: Record<Exclude<Role, 'ingest'>, number> = { viewer: 1, support: 2, operator: 3, admin: 4 }

/** How far up the ranks a role is (ingest: 0, outside them). */
export const roleRank = (role: Role): number => (role === 'ingest' ? 0 : RANK[role])

/** `public`: no token needed; a role: that role or a higher one; `ingest`: ingestion keys (and admins). */
export type Permission = 'public' | Role

export function allowed(role: Role, needed: Permission): boolean {
  if (needed === 'public') return true
  if (needed === 'ingest') return role === 'ingest' || role === 'admin'
  if (role === 'ingest') return false
  return RANK[role] >= RANK[needed]
}
