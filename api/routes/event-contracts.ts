import { Hono } from 'hono'
import { describeRoute, resolver } from 'hono-openapi'
import { z } from 'zod'
import { actorOf, auditChange } from '../../auth/middleware.ts'
import { allowed } from '../../auth/permissions.ts'
import type { Config } from '../../core/config.ts'
import { ContractBook } from '../../core/contract-book.ts'
import { diffContracts } from '../../core/contract-diff.ts'
import { compileContract, type JsonSchema, MAX_SCHEMA_BYTES } from '../../core/contract-schema.ts'
import { DAY_MS } from '../../core/duration.ts'
import { BadRequestError, NotFoundError } from '../../core/errors.ts'
import {
  CONTRACT_POLICIES,
  CONTRACT_VERSION,
  type ContractPolicy,
  type ContractSet,
  EVENT_TYPE_NAME,
} from '../../core/event-contracts.ts'
import type { Store } from '../../store/client.ts'
import {
  registerContract,
  registeredContracts,
  violationGroups,
} from '../../store/queries/event-contracts.ts'
import { instant, isoFromMs, params, query, requestedRange, wholeNumber } from '../params.ts'
import { type ApiEnv, policy } from '../policy.ts'
import { ConflictError } from '../replay/replay.ts'

const registration = z.object({
  type: z.string().regex(EVENT_TYPE_NAME, 'an event type such as retail.order.created'),
  version: z.string().regex(CONTRACT_VERSION, 'a version such as 1, 2 or 1.1'),
  schema: z.record(z.string(), z.unknown()),
  policy: z.enum(CONTRACT_POLICIES).optional(),
})

/**
 * The shipped contracts and those registered through the api, as one book: each version compiled once
 * (versions are immutable), the registered ones looked for at every read so the answer is current.
 */
function contractBook(store: Store, shipped: ContractSet): () => Promise<ContractBook> {
  const book = new ContractBook(shipped)
  return async () => {
    for (const row of await registeredContracts(store)) {
      try {
        if (!book.contract(row.type, row.version))
          book.add({
            type: row.type,
            version: row.version,
            schema: JSON.parse(row.schema) as JsonSchema,
            origin: 'api',
          })
        if ((CONTRACT_POLICIES as readonly string[]).includes(row.policy))
          book.setPolicy(row.type, row.policy as ContractPolicy)
      } catch {
        // A row that no longer compiles is left out of the book (the collector skips it too).
      }
    }
    return book
  }
}

/**
 * Event contracts (docs/event-contracts.md): the types and their versions, registering a new version,
 * whether a version is backward compatible with another, and the events that broke theirs.
 * Contracts span every flow and source, so registering and reading violations take an unscoped caller.
 */
export function eventContractRoutes(store: Store, shipped: ContractSet, config: Pick<Config, 'query'>) {
  const currentBook = contractBook(store, shipped)
  return new Hono<ApiEnv>()
    .get(
      '/event-types',
      describeRoute({
        tags: ['event contracts'],
        summary: 'Event types with a contract: their versions, JSON Schemas and policy',
        responses: { 200: { description: 'Every type with a contract' } },
      }),
      policy({ role: 'viewer', scope: 'none' }),
      async (c) => {
        const book = await currentBook()
        return c.json({
          types: book.list().map((t) => ({
            type: t.type,
            policy: t.policy,
            latest: t.latest,
            versions: t.versions.map((v) => ({ version: v.version, origin: v.origin, schema: v.schema })),
          })),
        })
      },
    )
    .post(
      '/event-types',
      describeRoute({
        tags: ['event contracts'],
        summary: 'Register a new version of an event type’s contract (a JSON Schema for its data)',
        requestBody: { content: { 'application/json': { schema: resolver(registration) } } },
        responses: {
          201: { description: 'Registered; the collector checks events against it within seconds' },
          200: { description: 'The same schema was already registered for this version' },
          400: { description: 'Not a contract the collector can check safely' },
          409: { description: 'The version exists with another schema: register a new version' },
        },
      }),
      policy({ role: 'operator', scope: 'unscoped' }),
      async (c) => {
        const text = await c.req.text()
        if (text.length > MAX_SCHEMA_BYTES + 1024)
          throw new BadRequestError('invalid_contract', `a contract may be at most ${MAX_SCHEMA_BYTES} bytes`)
        let json: unknown
        try {
          json = JSON.parse(text)
        } catch {
          throw new BadRequestError('invalid_json', 'the body is not valid JSON')
        }
        const parsed = registration.safeParse(json)
        if (!parsed.success) {
          const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`)
          throw new BadRequestError('invalid_contract', problems.join('; '), { problems })
        }
        const { type, version, schema } = parsed.data
        try {
          compileContract(schema)
        } catch (err) {
          throw new BadRequestError('invalid_contract', `schema: ${(err as Error).message}`)
        }
        const book = await currentBook()
        const known = book.contract(type, version)
        if (known) {
          if (JSON.stringify(known.schema) === JSON.stringify(schema))
            return c.json({ type, version, registered: false }, 200)
          throw new ConflictError(
            'contract_exists',
            `${type} version ${version} exists with another schema (${known.origin === 'config' ? 'in config/events' : 'registered'}); contracts are immutable: register a new version`,
          )
        }
        const policyOf = parsed.data.policy ?? book.policyOf(type)
        await registerContract(store, {
          type,
          version,
          schema: JSON.stringify(schema),
          policy: policyOf,
          by: actorOf(c),
        })
        auditChange(c, `${type} version ${version}, policy ${policyOf}`)
        const previous = book.list().find((t) => t.type === type)?.latest
        const compatibility = previous
          ? { against: previous, ...diffContracts(book.contract(type, previous)?.schema, schema) }
          : undefined
        return c.json({ type, version, policy: policyOf, registered: true, compatibility }, 201)
      },
    )
    .get(
      '/event-types/:type/diff',
      describeRoute({
        tags: ['event contracts'],
        summary: 'Whether version `to` of an event type is backward compatible with `from` for its consumers',
        responses: {
          200: { description: 'The changes, each breaking or not' },
          404: { description: 'No such version' },
        },
      }),
      policy({ role: 'viewer', scope: 'none' }),
      params(z.object({ type: z.string().regex(EVENT_TYPE_NAME) })),
      query(
        z.object({
          from: z
            .string()
            .regex(CONTRACT_VERSION, 'a version such as 1, 2 or 1.1')
            .optional()
            .describe('The version consumers are written for; default: the one before `to`'),
          to: z
            .string()
            .regex(CONTRACT_VERSION, 'a version such as 1, 2 or 1.1')
            .optional()
            .describe('The new version; default: the latest'),
        }),
      ),
      async (c) => {
        const { type } = c.req.valid('param')
        const q = c.req.valid('query')
        const book = await currentBook()
        const versions = (book.list().find((t) => t.type === type)?.versions ?? []).map((v) => v.version)
        const to = q.to ?? versions.at(-1) ?? ''
        const from = q.from ?? versions[versions.indexOf(to) - 1] ?? ''
        if (!from || !to)
          throw new NotFoundError(
            versions.length === 0
              ? `${type} has no contract`
              : `${type} has no version before ${to} to compare with`,
          )
        const before = book.contract(type, from)
        const after = book.contract(type, to)
        if (!before || !after)
          throw new NotFoundError(`${type} has no version ${before ? to : from} (see GET /api/event-types)`)
        return c.json({ type, from, to, ...diffContracts(before.schema, after.schema) })
      },
    )
    .get(
      '/event-contracts/violations',
      describeRoute({
        tags: ['event contracts'],
        summary:
          'Events whose data broke their contract, by type, version, source and path: since when, how many, an example (its data from the support role up)',
        responses: { 200: { description: 'Violations in the range, the most recent first' } },
      }),
      policy({ role: 'viewer', scope: 'unscoped' }),
      query(
        z.object({
          from: instant.optional(),
          to: instant.optional(),
          type: z.string().regex(EVENT_TYPE_NAME, 'an event type such as retail.order.created').optional(),
          source: z.string().min(1, 'a CloudEvents source').max(1024).optional(),
          limit: wholeNumber(1, 1000).default(200),
        }),
      ),
      async (c) => {
        const q = c.req.valid('query')
        // The example is an event's data: shown from the support role up, as events are.
        const identity = c.get('identity')
        const showsData = identity === undefined || allowed(identity.role, 'support')
        const { from, to } = requestedRange(q, config, { toMs: Date.now(), spanMs: 7 * DAY_MS })
        const rows = await violationGroups(store, {
          from,
          to,
          type: q.type,
          source: q.source,
          limit: q.limit,
        })
        return c.json({
          from: from.toISOString(),
          to: to.toISOString(),
          violations: rows.map((r) => ({
            type: r.type,
            version: r.version,
            source: r.source,
            path: r.path,
            message: r.message,
            policy: r.policy,
            count: Number(r.count),
            firstSeen: isoFromMs(r.first_ms),
            lastSeen: isoFromMs(r.last_ms),
            example:
              r.example_id && showsData ? { eventId: r.example_id, data: exampleData(r.example_data) } : null,
          })),
        })
      },
    )
}

/** The example as JSON when it is (a cut-short one stays text). */
function exampleData(text: string): unknown {
  if (text === '') return null
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
