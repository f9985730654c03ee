import { z } from 'zod'
import { SignalboxError } from '../core/errors.ts'

const names = z.array(z.string().min(1).max(200)).min(1).max(100)

/**
 * What a token is limited to: some flows, channels and systems. An absent dimension is unlimited.
 * What each dimension lets a request see, on every route, is api/visibility.ts; each route declares
 * how it keeps to it (api/policy.ts).
 */
export const scopeSchema = z
  .object({
    flows: names.optional(),
    channels: names.optional(),
    systems: names.optional(),
    /** Ingestion keys only: the sources they may write (`service.name`, CloudEvents `source`, connector). */
    sources: names.optional(),
  })
  .strict()

export type Scope = z.infer<typeof scopeSchema>

export const UNSCOPED: Scope = Object.freeze({})

export function parseScope(text: string): Scope {
  if (!text) return UNSCOPED
  const parsed = scopeSchema.safeParse(JSON.parse(text))
  // A stored scope that no longer parses limits to nothing rather than to everything.
  return parsed.success ? parsed.data : { flows: [], channels: [], systems: [], sources: [] }
}

export const isScoped = (scope: Scope) =>
  Boolean(scope.flows || scope.channels || scope.systems || scope.sources)

/** Is the scope limited by flows, channels or systems: what is read, as opposed to what is written? */
export const limitsReads = (scope: Scope) => Boolean(scope.flows || scope.channels || scope.systems)

/** Refuses a write that names a source the ingestion key may not write for. */
export function requireSources(allowed: readonly string[] | undefined, seen: Iterable<string>): void {
  if (allowed === undefined) return
  for (const source of new Set(seen))
    if (!allowed.includes(source))
      throw new OutOfScopeError(
        `this key writes for ${allowed.join(', ')} only, not for '${source.slice(0, 200)}'; nothing was written`,
      )
}

/** Is `value` inside the scope's list for one dimension (always, when the dimension is unlimited)? */
export const within = (allowed: readonly string[] | undefined, value: string) =>
  allowed === undefined || allowed.includes(value)

export class OutOfScopeError extends SignalboxError {
  constructor(message: string) {
    super('out_of_scope', message, 403)
  }
}

/**
 * Is something labelled (an SLO, an alert) within the scope? Each of its `flow`, `system` and
 * `channel` labels must be; a label it does not carry does not limit it.
 */
export function labelsInScope(scope: Scope, labels: Readonly<Record<string, string>>): boolean {
  const ok = (allowed: readonly string[] | undefined, value: string | undefined) =>
    value === undefined || within(allowed, value)
  return (
    ok(scope.flows, labels.flow) && ok(scope.systems, labels.system) && ok(scope.channels, labels.channel)
  )
}
