import { Hono } from 'hono'
import { z } from 'zod'
import { ENTITY_TYPES } from '../../core/vocabulary.ts'
import type { Connector, RunOutcome } from './connector.ts'
import { CallbackVerifier, WebhookVerificationError } from './signature.ts'

/** What Signalbox POSTs to a connector to replay an exception or re-sync an entity. */
export const callbackRequest = z
  .object({
    kind: z.enum(['replay', 'resync']),
    /**
     * The connector it is meant for, signed with the rest: every connector shares Signalbox's
     * secret, so without it a replay captured at one connector could be sent on to another.
     */
    connector: z.string().min(1),
    step: z.string().min(1),
    payload: z.unknown(),
    exceptionId: z.string().optional(),
    /** The entity a re-sync reads again from its source. */
    entity: z.object({ type: z.enum(ENTITY_TYPES), id: z.string().min(1).max(1024) }).optional(),
    original: z
      .object({ traceId: z.string().regex(/^[0-9a-f]{32}$/), spanId: z.string().regex(/^[0-9a-f]{16}$/) })
      .optional(),
  })
  .refine((r) => r.kind === 'replay' || r.entity !== undefined, {
    message: 'a re-sync names its entity',
    path: ['entity'],
  })
export type CallbackRequest = z.infer<typeof callbackRequest>

/**
 * What Signalbox POSTs, signed like a replay, to check that the callback is there and accepts its
 * signature. Answered with 2xx and the connector's id; nothing runs.
 */
export const probeRequest = z.object({ kind: z.literal('probe'), connector: z.string().optional() })

function probeAnswer(connector: Connector) {
  return { status: 'answering' as const, connector: connector.options.id, flows: connector.flows }
}

export interface CallbackOutcome extends RunOutcome {
  readonly replayId: string
}

/**
 * The connector's callback endpoint. A request must carry a valid Standard Webhooks signature (401
 * and nothing runs otherwise). A probe (`{"kind":"probe"}`) is answered with the connector's id. The `webhook-id` is the replay id and the idempotency key: a delivery
 * of an id already completed answers the earlier outcome without running again; one still running
 * answers 409. The step runs through the same code as normal operation, its trace linked to the
 * original.
 */
export function callbackApp(connector: Connector, secrets: readonly string[]) {
  const verifier = new CallbackVerifier(secrets)
  // A production connector keeps these in its own store so a restart keeps them; the reference
  // connectors run inside one process and keep them in memory.
  const completed = new Map<string, CallbackOutcome>()
  const running = new Set<string>()

  return new Hono().post('/callbacks', async (c) => {
    const body = await c.req.text()
    try {
      verifier.verify(body, c.req.header())
    } catch (err) {
      const message = err instanceof WebhookVerificationError ? err.message : 'invalid signature'
      return c.json({ error: { code: 'invalid_signature', message } }, 401)
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(body)
    } catch {
      return c.json({ error: { code: 'invalid_json', message: 'the body is not JSON' } }, 400)
    }
    // Signalbox's health probe: a signed request answered with who is here, nothing run or kept.
    if (probeRequest.safeParse(parsed).success) return c.json(probeAnswer(connector))
    const replayId = c.req.header('webhook-id') as string
    const earlier = completed.get(replayId)
    if (earlier) return c.json({ ...earlier, repeated: true })
    if (running.has(replayId))
      return c.json({ error: { code: 'in_progress', message: `replay ${replayId} is running` } }, 409)

    const request = callbackRequest.safeParse(parsed)
    if (!request.success) {
      return c.json(
        {
          error: {
            code: 'invalid_request',
            message: request.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
          },
        },
        400,
      )
    }
    if (request.data.connector !== connector.options.id)
      return c.json(
        {
          error: {
            code: 'wrong_connector',
            message: `this request was signed for connector ${request.data.connector.slice(0, 200)}, not ${connector.options.id}`,
          },
        },
        403,
      )
    if (!connector.hasStep(request.data.step)) {
      return c.json(
        {
          error: {
            code: 'unknown_step',
            message: `connector ${connector.options.id} has no step '${request.data.step}'`,
          },
        },
        404,
      )
    }
    const { step, kind, entity } = request.data
    if (kind === 'resync' && !connector.canLoad(step))
      return c.json(
        { error: { code: 'no_resync', message: `step '${step}' cannot re-sync: it declares no load` } },
        404,
      )
    running.add(replayId)
    try {
      // A replay runs the payload it was given; a re-sync reads the entity's input from its source.
      const input =
        kind === 'resync' && entity
          ? await connector.load(step, entity)
          : connector.openPayload(request.data.payload)
      if (input === undefined)
        return c.json(
          {
            error: {
              code: 'not_found',
              message: `${entity?.type} ${entity?.id} was not found at its source`,
            },
          },
          404,
        )
      const checked = connector.schemaOf(step)?.safeParse(input)
      if (checked && !checked.success)
        return c.json(
          {
            error: {
              code: 'invalid_payload',
              message: checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
            },
          },
          400,
        )
      const outcome = await connector.run(step, input, {
        replayOf: request.data.original ? { ...request.data.original, replayId } : undefined,
      })
      const result = { ...outcome, replayId }
      completed.set(replayId, result)
      return c.json(result)
    } finally {
      running.delete(replayId)
    }
  })
}
