import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js'
import { nestsDeeperThan } from './json-paths.ts'

/** A JSON Schema document (draft 2020-12) describing an event's `data`. */
export type JsonSchema = Record<string, unknown>

/** Limits on a schema, so a registered one cannot make every event's check slow. */
export const MAX_SCHEMA_BYTES = 64 * 1024
const MAX_SCHEMA_DEPTH = 32
const MAX_PATTERN_LENGTH = 256
/**
 * A quantified group that itself holds a quantifier (`(a+)+`, `(\w*)*`, `(x|y+){2,}`): the shape of
 * regular expressions whose backtracking grows exponentially. JavaScript's engine backtracks, so such
 * a `pattern` in a contract could stall the collector on a crafted string.
 */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)[+*{]/

/** RFC 3339 date-time, the only format the shipped contracts use (ajv-formats is not a dependency). */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/i

/**
 * One validator per schema, compiled once. `allErrors: false` stops at the first failure, so a
 * check costs at most one pass over the data; strict mode refuses unknown keywords (a typo would
 * otherwise check nothing) and remote `$ref`s are never fetched.
 */
const ajv = new Ajv2020({
  allErrors: false,
  strict: true,
  allowUnionTypes: true,
  formats: {
    'date-time': DATE_TIME,
    date: /^\d{4}-\d{2}-\d{2}$/,
    email: /^[^@\s]+@[^@\s]+$/,
    uri: /^[a-z][a-z0-9+.-]*:\S*$/i,
  },
  addUsedSchema: false,
})

/** The reasons a schema cannot be a contract, before ajv compiles it. */
function unsafeParts(schema: JsonSchema): string[] {
  const problems: string[] = []
  if (JSON.stringify(schema).length > MAX_SCHEMA_BYTES)
    problems.push(`the schema is larger than ${MAX_SCHEMA_BYTES} bytes`)
  if (nestsDeeperThan(schema, MAX_SCHEMA_DEPTH))
    problems.push(`the schema nests deeper than ${MAX_SCHEMA_DEPTH}`)
  if (problems.length > 0) return problems
  const stack: Array<[unknown, string]> = [[schema, '']]
  while (stack.length > 0) {
    const [node, at] = stack.pop() as [unknown, string]
    if (!node || typeof node !== 'object') continue
    for (const [key, value] of Object.entries(node)) {
      const where = `${at}/${key}`
      if (key === '$ref' && typeof value === 'string' && !value.startsWith('#'))
        problems.push(`${where}: only references inside the schema ('#/…') are allowed`)
      const patterns =
        key === 'pattern' && typeof value === 'string'
          ? [value]
          : key === 'patternProperties' && value && typeof value === 'object'
            ? Object.keys(value)
            : []
      for (const p of patterns) {
        if (p.length > MAX_PATTERN_LENGTH)
          problems.push(`${where}: a pattern longer than ${MAX_PATTERN_LENGTH} characters`)
        else if (NESTED_QUANTIFIER.test(p))
          problems.push(`${where}: '${p}' nests quantifiers, which can take exponential time`)
      }
      stack.push([value, where])
    }
  }
  return problems
}

/** Compiles a contract's schema, or throws naming every reason it cannot be one. */
export function compileContract(schema: unknown): ValidateFunction {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema))
    throw new Error('a contract is a JSON Schema object')
  const problems = unsafeParts(schema as JsonSchema)
  if (problems.length > 0) throw new Error(problems.join('; '))
  const declared = (schema as JsonSchema).$schema
  if (declared !== undefined && declared !== 'https://json-schema.org/draft/2020-12/schema')
    throw new Error('$schema: contracts are JSON Schema draft 2020-12')
  try {
    return ajv.compile(schema)
  } catch (err) {
    throw new Error(`not a valid JSON Schema: ${(err as Error).message}`)
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/** A JSON Pointer into the data as a JSON path (`/lines/0/sku` → `$.lines[0].sku`). */
export function jsonPath(pointer: string, child?: string): string {
  const parts = pointer === '' ? [] : pointer.slice(1).split('/')
  if (child !== undefined) parts.push(child)
  return parts.reduce((path, raw) => {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (/^(0|[1-9][0-9]*)$/.test(part)) return `${path}[${part}]`
    return IDENTIFIER.test(part) ? `${path}.${part}` : `${path}[${JSON.stringify(part)}]`
  }, '$')
}

/** Where a validation error is and what it says, in the product's words. */
export function describeError(e: ErrorObject): { path: string; message: string } {
  const params = e.params as Record<string, unknown>
  if (e.keyword === 'required')
    return { path: jsonPath(e.instancePath, String(params.missingProperty)), message: 'is required' }
  if (e.keyword === 'additionalProperties')
    return {
      path: jsonPath(e.instancePath, String(params.additionalProperty)),
      message: 'is not allowed by the contract',
    }
  if (e.keyword === 'enum')
    return {
      path: jsonPath(e.instancePath),
      message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
    }
  return { path: jsonPath(e.instancePath), message: e.message ?? 'is not valid' }
}
