import { createHash } from 'node:crypto'
import { Hono } from 'hono'
import { BadRequestError, NotFoundError, SignalboxError } from '../../core/errors.ts'
import type { Logger } from '../../core/logger.ts'
import type { Redactor } from '../../core/privacy.ts'
import type { WebhookConfig, WebhookSource } from '../../core/webhooks.ts'
import type { Store } from '../../store/client.ts'
import { recordUnmappedWebhook } from '../../store/queries/webhooks.ts'
import { timedFromNow } from '../admission.ts'
import { readBody } from '../body.ts'
import { type EventEntityOf, parseCloudEvents } from '../cloudevents.ts'
import type { ContractGate, Warned } from '../contracts.ts'
import type { IngestPipeline } from '../pipeline.ts'
import { type MappedEvent, mapPayload } from './map.ts'
import { signedBy } from './signature.ts'

/** What an unmapped webhook keeps of its payload: enough to write the mapping from. */
const KEPT_PAYLOAD_CHARS = 64 * 1024

export interface WebhookDeps {
  readonly config: WebhookConfig
  readonly pipeline: IngestPipeline
  readonly store: Store
  readonly log: Logger
  /** Personal data out of the kept payloads of unmapped webhooks, as out of events. */
  readonly privacy?: Redactor
  readonly entityOf?: EventEntityOf
  /** Holds mapped events to their types' contracts, as posted ones (collector/contracts.ts). */
  readonly contracts?: ContractGate
}

/**
 * `POST /v1/webhooks/:source`: a commerce platform's own webhook, signed with the source's secret,
 * mapped to a retail CloudEvent by the source's configured JSONata mapping and ingested on the same
 * exactly-once path as `POST /v1/events` (the delivery id is the event id). The signature is the
 * authentication: a platform carries no ingestion key. A bad signature is 401 and writes nothing. A
 * signed delivery no mapping can read is answered 202 and kept as an unmapped webhook (`GET
 * /api/webhooks/unmapped`): refusing it would only make the platform retry, then drop its subscription.
 */
export function webhookRoutes(deps: WebhookDeps) {
  const { config, pipeline, store, log } = deps
  for (const s of config.sources.values())
    if (!s.secret)
      log.warn(
        { source: s.name, env: s.secretEnv },
        'webhook source has no secret set: its deliveries get 503',
      )

  return new Hono().post('/:source', async (c) => {
    const source = config.sources.get(c.req.param('source'))
    if (!source)
      throw new NotFoundError(`no webhook source '${c.req.param('source').slice(0, 64)}' is configured`)
    if (!source.secret)
      throw new SignalboxError(
        'webhook_source_unconfigured',
        `webhook source '${source.name}' has no signing secret: set ${source.secretEnv}`,
        503,
      )
    const limit = config.limits.maxPayloadBytes
    const place = pipeline.admit()
    const leave = place.leave
    try {
      const body = await readBody(c.req.raw, limit, undefined, place.charge)
      if (!signedBy(body, source.secret, c.req.header(source.signatureHeader), source.signatureEncoding)) {
        // The source only: never the secret, the signature or the body.
        log.info({ source: source.name }, 'webhook refused: signature does not match')
        throw new SignalboxError(
          'invalid_signature',
          `the ${source.signatureHeader} header is missing or is not the HMAC-SHA256 of the body under ${source.name}'s secret`,
          401,
        )
      }
      const receivedAtMs = Date.now()
      const topic = source.topicHeader ? (c.req.header(source.topicHeader) ?? '') : '*'
      // A platform's retry carries the same id; without one, the same body is the same delivery.
      const webhookId =
        (source.idHeader ? c.req.header(source.idHeader) : undefined)?.slice(0, 256) ||
        `sha256:${createHash('sha256').update(body).digest('hex')}`
      const unmapped = async (why: string) => {
        // A JSONata message may quote a payload value: the reason is redacted like the payload.
        const redactor = deps.privacy?.forSource(source.eventSource)
        const reason = redactor ? redactor.text(why) : why
        const text = body.toString('utf8')
        await recordUnmappedWebhook(store, {
          receivedAtMs,
          source: source.name,
          topic,
          webhookId,
          reason,
          payload: (redactor ? redactor.jsonText(text) : text).slice(0, KEPT_PAYLOAD_CHARS),
          payloadBytes: body.length,
        })
        log.warn({ source: source.name, topic, webhookId, reason }, 'webhook kept unmapped')
        return c.json(
          { accepted: 0, duplicates: 0, unmapped: { source: source.name, topic, webhookId, reason } },
          202,
        )
      }

      let payload: unknown
      try {
        payload = JSON.parse(body.toString('utf8'))
      } catch {
        // Not the parser's message: it quotes the body.
        return await unmapped('the body is not JSON')
      }
      const mapping = source.topics.get(topic) ?? source.topics.get('*')
      if (!mapping) return await unmapped(`no mapping for topic '${topic.slice(0, 256)}'`)
      const mapped = await mapPayload(mapping, payload, {
        topic,
        webhookId,
        headers: plainHeaders(c.req.header(), source),
      })
      if (!mapped.ok) return await unmapped(mapped.reason)

      // Through the CloudEvents parser, so a mapped event meets every check a posted one does.
      let events: ReturnType<typeof parseCloudEvents>
      try {
        events = parseCloudEvents(
          { 'content-type': 'application/cloudevents+json' },
          Buffer.from(JSON.stringify(cloudEvent(mapped.event, source, webhookId, topic))),
          receivedAtMs,
          deps.entityOf,
        )
      } catch (err) {
        if (err instanceof BadRequestError)
          return await unmapped(`the mapped event is not valid: ${err.message}`)
        throw err
      }
      const { contracts } = deps
      let result: Awaited<ReturnType<IngestPipeline['events']>>
      let warned: Warned[] = []
      try {
        // A `reject` contract broken keeps the delivery unmapped, with the path that broke.
        if (contracts) {
          // Counted when the event is stored (pipeline.events), not again for its example.
          const redactor = deps.privacy?.forSource(source.eventSource).uncounted()
          const stored = (e: { data: string }) => (redactor ? redactor.jsonText(e.data) : e.data)
          warned = await contracts.check(contracts.judge(events, stored))
        }
        result = await pipeline.events(events, undefined, timedFromNow(leave))
      } catch (err) {
        // Queue full or store down stay errors (429/503): the platform retries, nothing is lost.
        if (err instanceof BadRequestError) return await unmapped(err.message)
        throw err
      }
      await contracts?.written(warned, result.duplicateItems)
      const [e] = events
      return c.json(
        {
          accepted: result.accepted,
          duplicates: result.duplicates ?? 0,
          event: { source: e?.source, id: e?.id, type: e?.type, subject: e?.subject },
        },
        202,
      )
    } finally {
      leave()
    }
  })
}

/** The structured CloudEvent a mapped webhook becomes; which source and topic it came from ride along. */
function cloudEvent(event: MappedEvent, source: WebhookSource, webhookId: string, topic: string) {
  return {
    ...event.extensions,
    specversion: '1.0',
    id: webhookId,
    source: source.eventSource,
    type: event.type,
    subject: event.subject,
    ...(event.time ? { time: event.time } : {}),
    datacontenttype: 'application/json',
    data: event.data ?? {},
    webhooksource: source.name,
    ...(topic === '*' ? {} : { webhooktopic: topic }),
  }
}

/** The request's headers for a mapping (`$headers`), without the signature. */
function plainHeaders(headers: Record<string, string>, source: WebhookSource): Record<string, string> {
  const { [source.signatureHeader]: _, ...rest } = headers
  return rest
}
