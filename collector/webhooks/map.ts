import type jsonata from 'jsonata'
import { z } from 'zod'
import { jsonataMessage } from '../../core/webhooks.ts'

/** What a mapping must give: enough for a retail CloudEvent (docs/telemetry.md). */
const mappedEvent = z.strictObject({
  type: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/, 'an event type such as retail.order.created'),
  subject: z.string().min(1).max(1024),
  time: z.string().max(64).optional(),
  data: z.record(z.string(), z.unknown()).optional(),
  extensions: z
    .record(z.string().regex(/^[a-z0-9]{1,20}$/, 'a CloudEvents extension name'), z.string())
    .optional(),
})

export type MappedEvent = z.output<typeof mappedEvent>

export type MappingOutcome =
  | { readonly ok: true; readonly event: MappedEvent }
  | { readonly ok: false; readonly reason: string }

/** The mapped event as JSON must stay well within what the collector takes for one event. */
const MAX_MAPPED_BYTES = 256 * 1024

/**
 * Runs one topic's mapping on a payload. JSONata bounds its own evaluation (time, depth, sequence
 * length: core/webhooks.ts); what it gives is checked here. Never throws: a payload the mapping cannot
 * read is an outcome, kept by the caller as an unmapped webhook.
 */
export async function mapPayload(
  expression: jsonata.Expression,
  payload: unknown,
  bindings: { readonly topic: string; readonly webhookId: string; readonly headers: Record<string, string> },
): Promise<MappingOutcome> {
  let result: unknown
  try {
    result = await expression.evaluate(payload, {
      topic: bindings.topic,
      webhookId: bindings.webhookId,
      headers: bindings.headers,
    })
  } catch (err) {
    return { ok: false, reason: `the mapping failed: ${jsonataMessage(err)}` }
  }
  if (result === undefined || result === null) return { ok: false, reason: 'the mapping gave no event' }
  // JSONata gives its own sequence arrays and objects; a JSON round trip makes them plain (and sizes them).
  const text = JSON.stringify(result)
  if (text.length > MAX_MAPPED_BYTES)
    return { ok: false, reason: `the mapped event is larger than ${MAX_MAPPED_BYTES} bytes` }
  const checked = mappedEvent.safeParse(JSON.parse(text))
  if (!checked.success) {
    const said = checked.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`)
    return { ok: false, reason: `the mapping gave no valid event: ${said.join('; ')}` }
  }
  return { ok: true, event: checked.data }
}
