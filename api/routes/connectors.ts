import { Hono } from 'hono'
import { describeRoute, resolver } from 'hono-openapi'
import { z } from 'zod'
import { scopeOf } from '../../auth/middleware.ts'
import { requireSources, within } from '../../auth/scope.ts'
import { BadRequestError } from '../../core/errors.ts'
import type { Store } from '../../store/client.ts'
import { listConnectors, registerConnector } from '../../store/queries/connectors.ts'

const registration = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'lower-case letters, digits, dot, dash, underscore'),
  system: z.string().min(1).max(100),
  flows: z.array(z.string().min(1).max(100)).max(50),
  callbackUrl: z.url({ protocol: /^https?$/ }),
  /** The steps a callback can run: their input schema (JSON Schema) and whether they can re-sync. */
  steps: z
    .array(
      z.object({
        name: z.string().min(1).max(100),
        flow: z.string().min(1).max(100),
        stage: z.string().max(100).default(''),
        schema: z.record(z.string(), z.unknown()).nullable().default(null),
        resync: z.boolean().default(false),
      }),
    )
    .max(200)
    .default([]),
})

const utc = (s: string) => `${s.replace(' ', 'T')}Z`

/** The connector registry: connectors announce themselves at start; health comes from their spans. */
export function connectorRoutes(store: Store) {
  return new Hono()
    .post(
      '/connectors',
      describeRoute({
        tags: ['connectors'],
        summary: 'Register a connector and its callback URL (connectors call this at start)',
        requestBody: { content: { 'application/json': { schema: resolver(registration) } } },
        responses: { 201: { description: 'Registered' }, 400: { description: 'Invalid registration' } },
      }),
      async (c) => {
        const parsed = registration.safeParse(await c.req.json().catch(() => undefined))
        if (!parsed.success) {
          const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`)
          throw new BadRequestError('invalid_registration', problems.join('; '), { problems })
        }
        requireSources(scopeOf(c.req.raw).sources, [parsed.data.id])
        await registerConnector(store, parsed.data)
        return c.json({ registered: parsed.data.id }, 201)
      },
    )
    .get(
      '/connectors',
      describeRoute({
        tags: ['connectors'],
        summary: 'Registered connectors with runs and failures in the last 24 hours',
        responses: { 200: { description: 'Connectors' } },
      }),
      async (c) => {
        const rows = await listConnectors(store, new Date(Date.now() - 86_400_000))
        const { systems } = scopeOf(c.req.raw)
        return c.json({
          connectors: rows
            .filter((r) => within(systems, r.system))
            .map((r) => ({
              id: r.id,
              system: r.system,
              flows: r.flows,
              callbackUrl: r.callback_url,
              registeredAt: utc(r.registered_at),
              lastSeen: utc(r.last_seen),
              last24h: {
                runs: Number(r.runs),
                failures: Number(r.failures),
                lastRun: r.last_run ? utc(r.last_run) : null,
              },
            })),
        })
      },
    )
}
