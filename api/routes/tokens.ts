import { Hono } from 'hono'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import { actorOf } from '../../auth/middleware.ts'
import { parseScope, scopeSchema } from '../../auth/scope.ts'
import { createToken, revokeToken } from '../../auth/tokens.ts'
import { NotFoundError } from '../../core/errors.ts'
import type { Store } from '../../store/client.ts'
import { listAudit } from '../../store/queries/audit.ts'
import { listTokens, type TokenRow } from '../../store/queries/tokens.ts'
import { body, isoFromMs, params, query, wholeNumber } from '../params.ts'
import { type ApiEnv, policy } from '../policy.ts'

const view = (t: TokenRow) => ({
  id: t.id,
  name: t.name,
  kind: t.kind,
  role: t.role,
  createdBy: t.created_by,
  createdAt: isoFromMs(t.created_ms),
  expiresAt: isoFromMs(t.expires_ms),
  revokedAt: isoFromMs(t.revoked_ms),
  /** To the minute: uses are written at most once a minute per token. */
  lastUsedAt: isoFromMs(t.last_used_ms ?? null),
  scope: parseScope(t.scope),
})

/**
 * Personal and service tokens, ingestion keys and the audit log: admins without a scope only (a
 * scoped admin could otherwise make itself an unscoped token; the audit log spans every scope).
 */
export function tokenRoutes(store: Store) {
  const admin = policy({ role: 'admin', scope: 'unscoped' })
  return new Hono<ApiEnv>()
    .get(
      '/tokens',
      describeRoute({
        tags: ['security'],
        summary: 'Tokens and ingestion keys (never their secrets)',
        responses: { 200: { description: 'Tokens' } },
      }),
      admin,
      async (c) => c.json({ tokens: (await listTokens(store)).map(view) }),
    )
    .post(
      '/tokens',
      describeRoute({
        tags: ['security'],
        summary: 'Create a token; its secret is in this answer only',
        responses: { 201: { description: 'The token, shown once' } },
      }),
      admin,
      body(
        z.object({
          name: z.string().trim().min(1).max(200),
          kind: z.enum(['personal', 'service', 'ingest']),
          role: z
            .enum(['viewer', 'support', 'operator', 'admin'])
            .default('viewer')
            .describe('Ignored for ingestion keys'),
          expiresInDays: z.number().int().min(1).max(3650).optional(),
          scope: scopeSchema
            .optional()
            .describe('Limit the token to some flows, channels and systems (absent: unlimited)'),
        }),
      ),
      async (c) => {
        const b = c.req.valid('json')
        const created = await createToken(store, { ...b, createdBy: actorOf(c) || 'local' })
        return c.json(
          {
            id: created.id,
            token: created.token,
            kind: b.kind,
            role: b.kind === 'ingest' ? 'ingest' : b.role,
            scope: b.scope ?? {},
          },
          201,
        )
      },
    )
    .get(
      '/audit',
      describeRoute({
        tags: ['security'],
        summary:
          'The audit log: every operator and admin action, who, what, when and from where (newest first)',
        responses: { 200: { description: 'Entries' } },
      }),
      admin,
      query(
        z.object({
          days: wholeNumber(1, 400).default(30),
          limit: wholeNumber(1, 1000).default(200),
        }),
      ),
      async (c) => {
        const q = c.req.valid('query')
        const rows = await listAudit(store, new Date(Date.now() - q.days * 86_400_000), q.limit)
        return c.json({
          entries: rows.map((r) => ({
            at: isoFromMs(r.at_ms),
            actor: r.actor,
            role: r.role,
            tokenId: r.token_id || null,
            method: r.method,
            route: r.route,
            path: r.path,
            status: r.status,
            remote: r.remote || null,
            requestId: r.request_id || null,
            /** What the action changed, where the route and path do not say (a callback taken over). */
            detail: r.detail || null,
          })),
        })
      },
    )
    .delete(
      '/tokens/:id',
      describeRoute({
        tags: ['security'],
        summary: 'Revoke a token: refused from the next request on',
        responses: { 200: { description: 'Revoked' }, 404: { description: 'No such token' } },
      }),
      admin,
      params(z.object({ id: z.string().max(100) })),
      async (c) => {
        const revoked = await revokeToken(store, c.req.valid('param').id)
        if (!revoked) throw new NotFoundError(`no token '${c.req.valid('param').id.slice(0, 100)}'`)
        return c.json({ token: view(revoked) })
      },
    )
}
