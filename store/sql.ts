import { TABLES, type TableName } from './tables.ts'

/**
 * The one way to write SQL in Signalbox. Every interpolated value becomes a server-side bound
 * parameter (`{p0:String}` + `query_params`); there is no raw-string branch. Identifiers can only be
 * table names from `TABLES`, wrapped with `table()`. Fragments compose: a `sql` value interpolated
 * into another is spliced in with its parameters renumbered.
 */
export interface BoundQuery {
  readonly query: string
  readonly query_params: Readonly<Record<string, unknown>>
}

const TABLE_NAMES = new Set<string>(Object.values(TABLES))

class Identifier {
  constructor(readonly name: string) {}
}

/** A value with an explicit ClickHouse type, for when the JS type does not say enough (DateTime64(9), UInt64…). */
class Typed {
  constructor(
    readonly value: unknown,
    readonly type: string,
  ) {}
}

export class Fragment implements BoundQuery {
  constructor(
    readonly parts: readonly (string | Typed)[],
    readonly query: string,
    readonly query_params: Readonly<Record<string, unknown>>,
  ) {}
}

export type SqlValue =
  | string
  | number
  | bigint
  | boolean
  | Date
  | readonly string[]
  | readonly number[]
  | Typed
  | Identifier
  | Fragment

export function table(name: TableName): Identifier {
  if (!TABLE_NAMES.has(name)) throw new Error(`unknown table ${name}`)
  return new Identifier(name)
}

export function typed(value: unknown, type: string): Typed {
  return new Typed(value, type)
}

/** A time that may be absent (epoch ms or null), as Nullable(DateTime64(3)). */
export function nullableTime(ms: number | null): Typed {
  return new Typed(ms === null ? null : (ms / 1000).toFixed(3), 'Nullable(DateTime64(3))')
}

/** Nanosecond timestamps as DateTime64(9): exact, whatever the size of the number. */
export function nanos(value: bigint | string): Typed {
  return new Typed(String(value), 'DateTime64(9)')
}

function typeOf(value: unknown): string {
  if (typeof value === 'string') return 'String'
  if (typeof value === 'boolean') return 'Bool'
  if (typeof value === 'bigint') return 'Int64'
  if (typeof value === 'number') return Number.isInteger(value) ? 'Int64' : 'Float64'
  if (value instanceof Date) return 'DateTime64(3)'
  if (Array.isArray(value)) {
    return value.every((v) => typeof v === 'number') && value.length > 0 ? 'Array(Float64)' : 'Array(String)'
  }
  throw new TypeError(`cannot bind a value of type ${typeof value}`)
}

function paramValue(value: unknown): unknown {
  // ClickHouse parses DateTime64 parameters from "seconds.fraction" exactly.
  if (value instanceof Date) return (value.getTime() / 1000).toFixed(3)
  if (typeof value === 'bigint') return value.toString()
  return value
}

export function sql(strings: TemplateStringsArray, ...values: SqlValue[]): Fragment {
  const parts: (string | Typed)[] = []
  const pushText = (text: string) => {
    const last = parts[parts.length - 1]
    if (typeof last === 'string') parts[parts.length - 1] = last + text
    else parts.push(text)
  }
  strings.forEach((text, i) => {
    pushText(text)
    if (i >= values.length) return
    const value = values[i]
    if (value instanceof Identifier) pushText(value.name)
    else if (value instanceof Fragment)
      for (const p of value.parts) typeof p === 'string' ? pushText(p) : parts.push(p)
    else if (value instanceof Typed) parts.push(value)
    else parts.push(new Typed(value, typeOf(value)))
  })
  const params: Record<string, unknown> = {}
  let query = ''
  let n = 0
  for (const p of parts) {
    if (typeof p === 'string') query += p
    else {
      const name = `p${n++}`
      query += `{${name}:${p.type}}`
      params[name] = paramValue(p.value)
    }
  }
  return new Fragment(parts, query, params)
}

/** Joins fragments with a separator, e.g. optional WHERE conditions with ` AND `. */
export function join(fragments: readonly Fragment[], separator: string): Fragment {
  if (fragments.length === 0) return sql`1`
  const strings = ['', ...fragments.slice(1).map(() => separator), '']
  return sql(Object.assign(strings, { raw: strings }) as TemplateStringsArray, ...fragments)
}

/**
 * How many bytes of bound values one query may carry. The HTTP interface sends them in the URL, which
 * a ClickHouse server caps (`http_max_uri_size`, 1 MiB by default); a quarter of that leaves room for
 * the query's other parameters and for estimates that run short.
 */
const BOUND_BYTES_PER_QUERY = 256 * 1024

/**
 * Splits a long list of values to bind into lists that each fit one query's URL: a lookup of many
 * keys (a retried bulk load) goes as several queries rather than one the server refuses.
 */
export function* boundChunks<T>(items: readonly T[], bytes: (item: T) => number): Generator<T[]> {
  let chunk: T[] = []
  let size = 0
  for (const item of items) {
    const n = bytes(item)
    if (chunk.length > 0 && size + n > BOUND_BYTES_PER_QUERY) {
      yield chunk
      chunk = []
      size = 0
    }
    chunk.push(item)
    size += n
  }
  if (chunk.length > 0) yield chunk
}

/**
 * A string's size as an array element in a URL: `'` and `\` escaped with a backslash, then
 * form-encoded, where `!'()~` take 3 bytes each (encodeURIComponent leaves them as 1); with its
 * quotes and comma.
 */
export const boundStringBytes = (s: string): number =>
  encodeURIComponent(s.replace(/['\\]/g, '\\$&')).length + 2 * (s.match(/[!'()~]/g)?.length ?? 0) + 12
