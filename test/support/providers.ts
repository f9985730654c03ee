import { readFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { Ajv } from 'ajv'

/**
 * The providers' published formats as JSON Schemas (test/fixtures/providers), and stand-ins for the
 * providers at the network edge that refuse what does not fit them, as the real ones do (400).
 */
const ajv = new Ajv({ allErrors: true, strict: false })
// RFC 3339 date-time, as Alertmanager's and PagerDuty's parsers take it.
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/)
ajv.addFormat('uri', (v: string) => URL.canParse(v))

export type ProviderFormat =
  | 'alertmanager-webhook-v4'
  | 'alertmanager-v2-postable-alerts'
  | 'pagerduty-events-v2'

const validators = new Map<ProviderFormat, ReturnType<Ajv['compile']>>()

/** The problems `body` has against a provider's format: none when it fits. */
export function formatProblems(format: ProviderFormat, body: unknown): string[] {
  let validate = validators.get(format)
  if (!validate) {
    const file = join(import.meta.dirname, '../fixtures/providers', `${format}.schema.json`)
    validate = ajv.compile(JSON.parse(readFileSync(file, 'utf8')))
    validators.set(format, validate)
  }
  if (validate(body)) return []
  return (validate.errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message ?? 'invalid'}`)
}

export interface ProviderRequest {
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly body: unknown
  readonly problems: readonly string[]
}

/** Which format each path takes: an Alertmanager's api, a webhook receiver, PagerDuty's enqueue. */
const ROUTES: Record<string, ProviderFormat> = {
  '/api/v2/alerts': 'alertmanager-v2-postable-alerts',
  '/hook': 'alertmanager-webhook-v4',
  '/v2/enqueue': 'pagerduty-events-v2',
}

/**
 * One server answering as Alertmanager (`POST /api/v2/alerts`: 200, or 400 with the reason), as a
 * receiver of Alertmanager's webhook and as PagerDuty's Events API (202 `{status: success}`). Every
 * request is kept with the problems its body has against the provider's schema.
 */
export async function startProviders() {
  const requests: ProviderRequest[] = []
  const server = createServer((req, res) => {
    let text = ''
    req.on('data', (c) => (text += c))
    req.on('end', () => {
      const path = req.url ?? ''
      const format = ROUTES[path]
      let body: unknown
      let problems: string[]
      try {
        body = JSON.parse(text)
        problems = format ? formatProblems(format, body) : [`no provider at ${path}`]
      } catch {
        problems = ['not JSON']
      }
      requests.push({ path, headers: req.headers, body, problems })
      if (problems.length > 0) res.writeHead(400).end(JSON.stringify({ error: problems.join('; ') }))
      else if (format === 'pagerduty-events-v2')
        res.writeHead(202).end(JSON.stringify({ status: 'success', message: 'Event processed' }))
      else res.writeHead(200).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    requests,
    /** Bodies sent to one path, in order. */
    bodies: <T = Record<string, unknown>>(path: string) =>
      requests.filter((r) => r.path === path).map((r) => r.body as T),
    clear: () => requests.splice(0),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
