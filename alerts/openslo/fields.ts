/**
 * Reading an OpenSLO object field by field, remembering which were read, so every field Signalbox does
 * not take is named (an error or a warning) rather than dropped without a word.
 */
export class Fields {
  private readonly read = new Set<string>()
  readonly value: Readonly<Record<string, unknown>>

  constructor(
    value: unknown,
    readonly path: string,
  ) {
    this.value = isObject(value) ? value : {}
  }

  get(key: string): unknown {
    this.read.add(key)
    return this.value[key]
  }

  /** A nested object's fields (empty when absent or not an object). */
  fields(key: string): Fields {
    return new Fields(this.get(key), this.at(key))
  }

  at(key: string | number): string {
    return this.path ? `${this.path}.${key}` : String(key)
  }

  /** Fields present but never read: the ones Signalbox has no place for. */
  unread(): string[] {
    return Object.keys(this.value)
      .filter((k) => !this.read.has(k))
      .map((k) => this.at(k))
  }
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** Deep equality of plain JSON values (settings read back from two metric sources). */
export const sameJson = (a: unknown, b: unknown) =>
  JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b))

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys)
  if (!isObject(v)) return v
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortKeys(v[k])]),
  )
}
