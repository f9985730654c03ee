import { Hono } from 'hono'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import type { Config } from '../../core/config.ts'
import { DAY_MS } from '../../core/duration.ts'
import type { Store } from '../../store/client.ts'
import { listUnmappedWebhooks } from '../../store/queries/webhooks.ts'
import { instant, query, requestedRange, wholeNumber } from '../params.ts'
import { type ApiEnv, policy } from '../policy.ts'

/**
 * Platform webhooks the collector could not map to a business event (collector/webhooks/route.ts):
 * each with its reason and its payload, redacted, so the mapping in webhooks.yaml can be fixed.
 */
export function webhookRoutes(store: Store, config: Pick<Config, 'query'>) {
  const schema = z.object({
    source: z
      .string()
      .min(1, 'a webhook source of webhooks.yaml')
      .max(64)
      .optional()
      .describe('A webhook source of webhooks.yaml, e.g. `shopify`'),
    topic: z.string().max(256).optional().describe('The platform’s topic, e.g. `orders/create`'),
    from: instant.optional(),
    to: instant.optional(),
    limit: wholeNumber(1, 1000).default(100),
  })
  const describe = describeRoute({
    tags: ['webhooks'],
    summary: 'Signed platform webhooks that no mapping turned into a business event, newest first',
    responses: {
      200: { description: 'Unmapped webhooks in the range, with the reason and the redacted payload' },
    },
  })
  // A webhook belongs to no flow a scope could name until it is mapped: callers without a scope only.
  const declared = policy({ role: 'support', scope: 'unscoped' })
  return new Hono<ApiEnv>().get('/webhooks/unmapped', describe, declared, query(schema), async (c) => {
    const q = c.req.valid('query')
    const { from, to } = requestedRange(q, config, {
      toMs: Date.now() + DAY_MS,
      spanMs: config.query.maxRangeDays * DAY_MS,
    })
    const rows = await listUnmappedWebhooks(store, { ...q, from, to })
    return c.json({
      from: from.toISOString(),
      to: to.toISOString(),
      webhooks: rows.map((w) => ({
        source: w.source,
        topic: w.topic,
        webhookId: w.webhookId,
        receivedAt: new Date(w.receivedAtMs).toISOString(),
        reason: w.reason,
        payload: parsed(w.payload),
        payloadBytes: w.payloadBytes,
      })),
    })
  })
}

/** The payload as JSON when it is (and was kept whole), else the text. */
function parsed(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
