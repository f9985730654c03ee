import { Hono } from 'hono'
import type { z } from 'zod'
import type { Connector } from './connector.ts'

/**
 * A connector's webhook intake: a source system posts a record (an order, a return); it is validated
 * like the real intake would (400 with the problems), acknowledged with 202, and synced in the
 * background starting at `step`.
 */
export function webhookIntake<S extends z.ZodType>(
  connector: Connector,
  options: { readonly path: string; readonly schema: S; readonly step: string; readonly name: string },
) {
  return new Hono().post(options.path, async (c) => {
    const parsed = options.schema.safeParse(await c.req.json().catch(() => undefined))
    if (!parsed.success) {
      const message = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')
      return c.json({ error: { code: `invalid_${options.name}`, message } }, 400)
    }
    void connector.run(options.step, parsed.data)
    return c.json({ accepted: true }, 202)
  })
}
