import { existsSync } from 'node:fs'
import { join } from 'node:path'
import jsonata from 'jsonata'
import { z } from 'zod'
import { readYamlConfig } from './yaml-config.ts'

/**
 * `webhooks.yaml`: the platforms whose own webhooks the collector takes at `POST /v1/webhooks/:source`
 * (docs/webhooks.md). Each source names how its deliveries are signed and identified, and maps each
 * topic to a business event with a JSONata expression: configuration, not code.
 */
const headerName = z
  .string()
  .regex(/^[A-Za-z0-9-]+$/, 'an HTTP header name')
  .transform((h) => h.toLowerCase())

const sourceSchema = z.strictObject({
  /** The environment variable holding the signing secret; the secret itself never sits in a file. */
  secretEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name'),
  /** Carries the HMAC-SHA256 of the raw body, `encoding` (base64 as Shopify sends it, or hex). */
  signatureHeader: headerName,
  signatureEncoding: z.enum(['base64', 'hex']).default('base64'),
  /** The delivery's id, stable across the platform's retries: it becomes the event id (exactly once). */
  idHeader: headerName.optional(),
  /** Names what happened (`orders/create`); without it every delivery is topic `*`. */
  topicHeader: headerName.optional(),
  /** The CloudEvents `source` of the mapped events. */
  eventSource: z.string().min(1).max(1024),
  /** Topic → a JSONata expression giving `{type, subject, time?, data?, extensions?}`; `*` for any topic. */
  topics: z.record(z.string().min(1).max(256), z.string().min(1)),
})

const limitsSchema = z.strictObject({
  /** A larger signed payload is refused (413), before its signature is checked. */
  maxPayloadBytes: z
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(1024 * 1024),
  /** One mapping's evaluation stops after this long: payloads are untrusted input. */
  timeoutMs: z.number().int().min(1).max(10_000).default(200),
  /** The longest sequence a mapping may build, and how deep it may recurse. */
  maxSequence: z.number().int().min(10).max(1_000_000).default(100_000),
  maxDepth: z.number().int().min(10).max(10_000).default(500),
})

const fileSchema = z.strictObject({
  limits: limitsSchema.default(limitsSchema.parse({})),
  sources: z.record(
    z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lower-case letters, digits, - and _'),
    sourceSchema,
  ),
})

export type WebhookLimits = z.output<typeof limitsSchema>

export interface WebhookSource {
  readonly name: string
  readonly signatureHeader: string
  readonly signatureEncoding: 'base64' | 'hex'
  readonly idHeader?: string
  readonly topicHeader?: string
  readonly eventSource: string
  readonly secretEnv: string
  /** Undefined when `secretEnv` is not set: the source then refuses every delivery (503). */
  readonly secret?: string
  readonly topics: ReadonlyMap<string, jsonata.Expression>
}

export interface WebhookConfig {
  readonly limits: WebhookLimits
  readonly sources: ReadonlyMap<string, WebhookSource>
}

/**
 * Reads `webhooks.yaml` from the config dir (no file: no sources). Every mapping is compiled here, so a
 * syntax error stops start-up with its file, line and topic instead of failing the first delivery.
 */
export function loadWebhooks(configDir: string, env: NodeJS.ProcessEnv = process.env): WebhookConfig {
  const file = join(configDir, 'webhooks.yaml')
  if (!existsSync(file)) return { limits: limitsSchema.parse({}), sources: new Map() }
  const compiled = new Map<string, jsonata.Expression>()
  const parsed = readYamlConfig(file, fileSchema, (value) => {
    const problems: Array<{ path: Array<string | number>; message: string }> = []
    for (const [name, source] of Object.entries(value.sources))
      for (const [topic, expression] of Object.entries(source.topics)) {
        try {
          compiled.set(`${name}\n${topic}`, jsonata(expression, limitsOf(value.limits)))
        } catch (err) {
          problems.push({ path: ['sources', name, 'topics', topic], message: jsonataMessage(err) })
        }
      }
    return problems
  })
  const sources = new Map<string, WebhookSource>()
  for (const [name, s] of Object.entries(parsed.sources)) {
    const secret = env[s.secretEnv]
    sources.set(name, {
      name,
      signatureHeader: s.signatureHeader,
      signatureEncoding: s.signatureEncoding,
      idHeader: s.idHeader,
      topicHeader: s.topicHeader,
      eventSource: s.eventSource,
      secretEnv: s.secretEnv,
      secret: secret === undefined || secret === '' ? undefined : secret,
      topics: new Map(
        Object.keys(s.topics).map((topic) => [
          topic,
          compiled.get(`${name}\n${topic}`) as jsonata.Expression,
        ]),
      ),
    })
  }
  return { limits: parsed.limits, sources }
}

/** JSONata's own bounds: evaluation time, recursion depth and sequence length. */
const limitsOf = (l: WebhookLimits) => ({ timeout: l.timeoutMs, stack: l.maxDepth, sequence: l.maxSequence })

/** A JSONata error as one line: its code, message and where in the expression. */
export function jsonataMessage(err: unknown): string {
  const e = err as { code?: string; message?: string; position?: number }
  const at = e.position === undefined ? '' : ` (at character ${e.position})`
  return `${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}${at}`
}
