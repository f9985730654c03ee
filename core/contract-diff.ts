import { jsonPath } from './contract-schema.ts'

type Schema = Record<string, unknown>

/** One difference between two versions of a contract, as a consumer of the events sees it. */
export interface ContractChange {
  /** A JSON path into the event data (`$.lines[*].sku`). */
  readonly path: string
  readonly kind:
    | 'field_removed'
    | 'field_made_optional'
    | 'type_changed'
    | 'enum_narrowed'
    | 'enum_widened'
    | 'field_added'
    | 'required_field_added'
    | 'field_made_required'
    | 'not_compared'
  readonly breaking: boolean
  readonly detail: string
}

export interface ContractDiff {
  /** True when no change breaks a consumer written for the older version. */
  readonly compatible: boolean
  readonly changes: readonly ContractChange[]
}

const asSchema = (v: unknown): Schema =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Schema) : {}
const typesOf = (s: Schema): string[] | undefined =>
  s.type === undefined ? undefined : (Array.isArray(s.type) ? s.type.map(String) : [String(s.type)]).sort()
const requiredOf = (s: Schema) => new Set(Array.isArray(s.required) ? s.required.map(String) : [])
const child = (path: string, key: string) =>
  path === '$' ? jsonPath('', key) : `${path}${jsonPath('', key).slice(1)}`

/** JSON Schema `integer` is a `number`: narrowing number to integer breaks, widening does not. */
function typeChange(before: string[] | undefined, after: string[] | undefined): string | undefined {
  if (!before || !after) return before && !after ? undefined : after && !before ? 'now typed' : undefined
  const widen = (t: string[]) => new Set(t.includes('number') ? [...t, 'integer'] : t)
  const allowedBefore = widen(before)
  const gained = after.filter((t) => !allowedBefore.has(t))
  const allowedAfter = widen(after)
  const lost = before.filter((t) => !allowedAfter.has(t))
  if (gained.length === 0 && lost.length === 0) return undefined
  return `type ${before.join('|')} → ${after.join('|')}`
}

/** Walks two schemas side by side: properties of objects and the items of arrays. */
function compare(before: Schema, after: Schema, path: string, changes: ContractChange[]): void {
  for (const key of ['$ref', 'oneOf', 'anyOf', 'allOf'] as const) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key]))
      changes.push({
        path,
        kind: 'not_compared',
        breaking: true,
        detail: `'${key}' changed; it is not compared field by field, so treat it as breaking`,
      })
  }
  const retyped = typeChange(typesOf(before), typesOf(after))
  if (retyped && retyped !== 'now typed') {
    changes.push({ path, kind: 'type_changed', breaking: true, detail: retyped })
    return
  }
  if (Array.isArray(before.enum) || Array.isArray(after.enum)) {
    const was = Array.isArray(before.enum) ? before.enum.map((v) => JSON.stringify(v)) : undefined
    const is = Array.isArray(after.enum) ? after.enum.map((v) => JSON.stringify(v)) : undefined
    const removed = was ? (is ? was.filter((v) => !is.includes(v)) : []) : ['(any value)']
    const added = is ? (was ? is.filter((v) => !was.includes(v)) : []) : ['(any value)']
    if (removed.length > 0)
      changes.push({
        path,
        kind: 'enum_narrowed',
        breaking: true,
        detail: `no longer allows ${removed.join(', ')}`,
      })
    if (added.length > 0)
      changes.push({
        path,
        kind: 'enum_widened',
        breaking: false,
        detail: `now also allows ${added.join(', ')}: consumers that switch on it should handle them`,
      })
  }
  const propsBefore = asSchema(before.properties)
  const propsAfter = asSchema(after.properties)
  const reqBefore = requiredOf(before)
  const reqAfter = requiredOf(after)
  for (const key of new Set([...Object.keys(propsBefore), ...reqBefore])) {
    const at = child(path, key)
    const wasRequired = reqBefore.has(key)
    if (!(key in propsAfter) && !reqAfter.has(key)) {
      changes.push({
        path: at,
        kind: 'field_removed',
        breaking: wasRequired,
        detail: wasRequired
          ? 'a required field was removed: consumers that read it break'
          : 'an optional field was removed',
      })
      continue
    }
    if (wasRequired && !reqAfter.has(key))
      changes.push({
        path: at,
        kind: 'field_made_optional',
        breaking: true,
        detail: 'was required, now optional: consumers that read it may find it missing',
      })
    if (!wasRequired && reqAfter.has(key))
      changes.push({
        path: at,
        kind: 'field_made_required',
        breaking: false,
        detail: 'was optional, now required',
      })
    compare(asSchema(propsBefore[key]), asSchema(propsAfter[key]), at, changes)
  }
  for (const key of Object.keys(propsAfter)) {
    if (key in propsBefore || reqBefore.has(key)) continue
    const required = reqAfter.has(key)
    changes.push({
      path: child(path, key),
      kind: required ? 'required_field_added' : 'field_added',
      breaking: false,
      detail: required
        ? 'a new required field: consumers may ignore it; producers on the older version must add it'
        : 'a new optional field',
    })
  }
  if (before.items !== undefined || after.items !== undefined)
    compare(asSchema(before.items), asSchema(after.items), `${path}[*]`, changes)
}

/**
 * Whether `after` is backward compatible with `before` for the consumers of the events: a removed or
 * retyped required field, a required field made optional, or a narrowed enum breaks them; an added
 * field (optional or required) does not. `$ref` and combinators are not walked: a change there is
 * reported as breaking, not guessed at.
 */
export function diffContracts(before: unknown, after: unknown): ContractDiff {
  const changes: ContractChange[] = []
  compare(asSchema(before), asSchema(after), '$', changes)
  return { compatible: changes.every((c) => !c.breaking), changes }
}
