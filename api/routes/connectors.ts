import { Hono } from 'hono'
import { describeRoute, resolver } from 'hono-openapi'
import { z } from 'zod'
import { auditChange } from '../../auth/middleware.ts'
import { BadRequestError, NotFoundError } from '../../core/errors.ts'
import type { Store } from '../../store/client.ts'
import {
  listConnectors,
  registerConnector,
  registeredConnector,
  removeConnector,
} from '../../store/queries/connectors.ts'
import { type CallbackProber, callbackHealth, callbackKey, probesByCallback } from '../connector-probes.ts'
import { params, requireShallow } from '../params.ts'
import { type ApiEnv, policy, scoped } from '../policy.ts'
import { callbackHostAllowed, hostRefusal } from '../replay/callback-hosts.ts'
import { ConflictError } from '../replay/replay.ts'

const registration = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'lower-case letters, digits, dot, dash, underscore'),
  system: z.string().min(1).max(100),
  flows: z.array(z.string().min(1).max(100)).max(50),
  callbackUrl: z.url({ protocol: /^https?$/ }).max(2048),
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
  /**
   * Take the id over from another callback that still answers. Without it, a different callback for
   * a live id is refused (409); with it, the change is kept in the audit log.
   */
  replace: z.boolean().default(false),
})

const utc = (s: string) => `${s.replace(' ', 'T')}Z`

/**
 * The connector registry: connectors announce themselves at start. A connector owns its id: another
 * callback asking for an id whose callback still answers is refused unless it says `replace`. Health
 * comes from the connectors' own spans and from probing each callback (connector-probes.ts).
 */
export function connectorRoutes(store: Store, prober: CallbackProber, callbackHosts: readonly string[] = []) {
  return new Hono<ApiEnv>()
    .post(
      '/connectors',
      describeRoute({
        tags: ['connectors'],
        summary: 'Register a connector and its callback URL (connectors call this at start)',
        requestBody: { content: { 'application/json': { schema: resolver(registration) } } },
        responses: {
          201: { description: 'Registered' },
          400: { description: 'Invalid registration' },
          409: {
            description: 'Another callback that answers holds the id; send "replace": true to take it over',
          },
        },
      }),
      // Connectors register with their ingestion keys, narrowed to the sources a key may write for.
      policy({ role: 'ingest', scope: 'narrowed' }),
      async (c) => {
        const json = await c.req.json().catch(() => {
          throw new BadRequestError('invalid_json', 'the body is not valid JSON')
        })
        requireShallow(json)
        const parsed = registration.safeParse(json)
        if (!parsed.success) {
          const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`)
          throw new BadRequestError('invalid_registration', problems.join('; '), { problems })
        }
        const { replace, ...announced } = parsed.data
        const { id, callbackUrl } = announced
        if (!callbackHostAllowed(callbackUrl, callbackHosts)) {
          const problem = `callbackUrl: ${hostRefusal(callbackUrl)}`
          throw new BadRequestError('invalid_registration', problem, { problems: [problem] })
        }
        scoped(c).requireSources([id])
        const current = await registeredConnector(store, id)
        const previous = current && current.callbackUrl !== callbackUrl ? current.callbackUrl : undefined
        if (previous !== undefined) {
          // Live means its callback answers a signed probe now (not some time ago: a connector that
          // restarted on a new port must get its id back at once).
          const answer = replace ? undefined : await prober.probe({ id, callbackUrl: previous })
          if (answer?.answered)
            throw new ConflictError(
              'connector_registered',
              `connector '${id}' is registered with the callback ${previous}, which answered Signalbox's probe just now, so replays go there. ` +
                'Register this instance under an id of its own, or send "replace": true to take the registration over (the audit log keeps who did)',
            )
          auditChange(
            c,
            answer
              ? `connector ${id}: callback ${previous} → ${callbackUrl}; the previous callback did not answer (${answer.error})`
              : `connector ${id}: callback ${previous} → ${callbackUrl}, replaced on request ("replace": true)`,
          )
        }
        await registerConnector(store, announced)
        prober.probeSoon({ id, callbackUrl })
        return c.json({ registered: id, callbackUrl, replaced: previous ?? null }, 201)
      },
    )
    .get(
      '/connectors',
      describeRoute({
        tags: ['connectors'],
        summary: 'Registered connectors with runs and failures in the last 24 hours',
        responses: { 200: { description: 'Connectors' } },
      }),
      policy({ role: 'viewer', scope: 'narrowed' }),
      async (c) => {
        const [rows, probes] = await Promise.all([
          listConnectors(store, new Date(Date.now() - 86_400_000)),
          probesByCallback(store),
        ])
        const visible = scoped(c)
        return c.json({
          connectors: rows
            .filter((r) => visible.connector(r))
            .map((r) => ({
              id: r.id,
              system: r.system,
              flows: r.flows,
              callbackUrl: r.callback_url,
              registeredAt: utc(r.registered_at),
              lastSeen: utc(r.last_seen),
              /** Whether the callback answers Signalbox's signed probe: where replays go. */
              callback: callbackHealth(probes.get(callbackKey(r.id, r.callback_url)) ?? []),
              last24h: {
                runs: Number(r.runs),
                failures: Number(r.failures),
                lastRun: r.last_run ? utc(r.last_run) : null,
              },
            })),
        })
      },
    )
    .post(
      '/connectors/:id/probe',
      describeRoute({
        tags: ['connectors'],
        summary: "Probe a connector's callback now (a signed request it must answer) and say how it answered",
        responses: { 200: { description: 'The callback status' }, 404: { description: 'No such connector' } },
      }),
      policy({ role: 'operator', scope: { param: 'id', names: 'connector' } }),
      params(z.object({ id: z.string().min(1).max(100) })),
      async (c) => {
        const { id } = c.req.valid('param')
        const connector = await registeredConnector(store, id)
        if (!connector) throw new NotFoundError(`no connector '${id}' is registered`)
        await prober.probe(connector)
        const probes = await probesByCallback(store, id)
        return c.json({
          id,
          callbackUrl: connector.callbackUrl,
          callback: callbackHealth(probes.get(callbackKey(id, connector.callbackUrl)) ?? []),
        })
      },
    )
    .delete(
      '/connectors/:id',
      describeRoute({
        tags: ['connectors'],
        summary:
          'Remove a connector taken out of service: its callback is no longer probed or called (it is back if it registers again)',
        responses: { 200: { description: 'Removed' }, 404: { description: 'No such connector' } },
      }),
      // Every flow's replays may go through a connector: only an admin over all of them removes one.
      policy({ role: 'admin', scope: 'unscoped' }),
      params(z.object({ id: z.string().min(1).max(100) })),
      async (c) => {
        const { id } = c.req.valid('param')
        const connector = await registeredConnector(store, id)
        if (!connector) throw new NotFoundError(`no connector '${id}' is registered`)
        await removeConnector(store, id)
        auditChange(c, `connector ${id} removed (callback ${connector.callbackUrl})`)
        return c.json({ removed: id, callbackUrl: connector.callbackUrl })
      },
    )
}
