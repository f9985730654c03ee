import { Hono } from 'hono'
import { describeRoute, resolver } from 'hono-openapi'
import { z } from 'zod'
import { BadRequestError, PayloadTooLargeError } from '../../core/errors.ts'
import { encryptedPaths, maskEncrypted, type PayloadVault } from '../../core/payload-vault.ts'
import type { Redactor } from '../../core/privacy.ts'
import { ENTITY_TYPE_NAME } from '../../core/vocabulary.ts'
import type { Store } from '../../store/client.ts'
import {
  type ExceptionRow,
  exceptionId,
  listExceptions,
  recordException,
} from '../../store/queries/exceptions.ts'
import { query, requireShallow, wholeNumber } from '../params.ts'
import { type PayloadView, payloadView } from '../payload-view.ts'
import { type ApiEnv, policy, scoped } from '../policy.ts'

const name = z.string().min(1).max(200)
const exceptionReport = z.object({
  connector: name,
  flow: name,
  step: name,
  stage: z.string().max(200).default(''),
  entity: z.object({ type: z.string().regex(ENTITY_TYPE_NAME), id: z.string().min(1).max(1024) }),
  payload: z.unknown(),
  /** Dot paths of personal data in the payload (`customer.email`): encrypted at rest. */
  sensitive: z.array(z.string().min(1).max(200)).max(100).default([]),
  error: z.object({ class: name, message: z.string().max(10_000) }),
  attempts: z.number().int().min(1).max(1_000_000),
  traceId: z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lower-case hex digits'),
  spanId: z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lower-case hex digits'),
})

const MAX_PAYLOAD_BYTES = 256 * 1024

/** An exception as the api shows it; `view` opens or masks its encrypted payload fields. */
export function present(r: ExceptionRow, view: PayloadView) {
  const stored = JSON.parse(r.payload) as unknown
  return {
    id: r.id,
    status: r.status,
    connector: r.connector,
    flow: r.flow,
    step: r.step,
    stage: r.stage,
    entity: { type: r.entity_type, id: r.entity_id },
    error: { class: r.error_class, message: r.error_message },
    payload: view(stored, r.id),
    /** Fields encrypted at rest: shown in clear to operators and admins, masked to others. */
    sensitive: encryptedPaths(stored),
    attempts: Number(r.attempts),
    occurrences: Number(r.occurrences),
    firstSeen: `${r.first_seen.replace(' ', 'T')}Z`,
    lastSeen: `${r.last_seen.replace(' ', 'T')}Z`,
    traceId: r.trace_id,
    spanId: r.span_id,
    replays: Number(r.replay_count),
    statusBy: r.status_by || null,
    statusReason: r.status_reason || null,
  }
}

/** Exceptions: reported by connectors when a sync fails for good, listed for the people who fix them. */
export function exceptionRoutes(store: Store, privacy: Redactor, vault: PayloadVault) {
  const listQuery = z.object({
    status: z.enum(['open', 'replaying', 'resolved', 'failed-again', 'ignored']).optional(),
    connector: z.string().max(200).optional(),
    flow: z.string().max(200).optional(),
    stage: z.string().max(200).optional(),
    step: z.string().max(200).optional(),
    errorClass: z.string().max(200).optional(),
    limit: wholeNumber(1, 1000).default(100),
  })
  return new Hono<ApiEnv>()
    .post(
      '/exceptions',
      describeRoute({
        tags: ['exceptions'],
        summary: 'Report a sync that failed for good (connectors call this)',
        description:
          'Repeats of the same failure (same connector, step, entity and error class) are counted, not duplicated.',
        requestBody: { content: { 'application/json': { schema: resolver(exceptionReport) } } },
        responses: {
          201: { description: 'The exception as recorded' },
          400: { description: 'Invalid report' },
        },
      }),
      // Written by connectors' ingestion keys, narrowed to the sources a key may write for.
      policy({ role: 'ingest', scope: 'narrowed' }),
      async (c) => {
        const text = await c.req.text()
        if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES)
          throw new PayloadTooLargeError(
            MAX_PAYLOAD_BYTES,
            `an exception report may hold at most ${MAX_PAYLOAD_BYTES} bytes`,
          )
        let body: unknown
        try {
          body = JSON.parse(text)
        } catch {
          throw new BadRequestError('invalid_json', 'the body is not valid JSON')
        }
        requireShallow(body)
        const report = exceptionReport.safeParse(body)
        if (!report.success) {
          const problems = report.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
          throw new BadRequestError('invalid_exception', problems.join('; '), { problems })
        }
        // Fields the connector marks sensitive are encrypted; other personal data is redacted.
        const { sensitive, ...r } = report.data
        scoped(c).requireSources([r.connector])
        const encrypted = vault.encryptFields(r.payload, sensitive, exceptionId(r))
        const rules = privacy.forSource(r.connector)
        const clean = {
          ...r,
          payload: rules.json(encrypted),
          error: { ...r.error, message: rules.text(r.error.message) },
        }
        return c.json(present(await recordException(store, clean), maskEncrypted), 201)
      },
    )
    .get(
      '/exceptions',
      describeRoute({
        tags: ['exceptions'],
        summary: 'Exceptions, most recent first',
        responses: { 200: { description: 'Exceptions' } },
      }),
      policy({ role: 'support', scope: 'narrowed' }),
      query(listQuery),
      async (c) => {
        const view = payloadView(vault, c)
        const q = c.req.valid('query')
        const visible = scoped(c)
        const all = await listExceptions(store, {
          ...q,
          ...(await visible.exceptionFilter()),
          limit: visible.readRows(q.limit),
        })
        const rows = (await visible.exceptions(all)).slice(0, q.limit)
        return c.json({ exceptions: rows.map((r) => present(r, view)) })
      },
    )
}
