type Json = Record<string, unknown>

/**
 * A copy of `doc` with the values at the given dot paths (`customer.email`) replaced by
 * `f(value, path)`. Paths that are not there are left alone.
 */
export function mapAtPaths(
  doc: unknown,
  paths: readonly string[],
  f: (value: unknown, path: string) => unknown,
): unknown {
  const copy = structuredClone(doc)
  for (const path of paths) {
    const parts = path.split('.')
    let node: unknown = copy
    for (const part of parts.slice(0, -1))
      node = node && typeof node === 'object' ? (node as Json)[part] : undefined
    const last = parts[parts.length - 1] as string
    if (node && typeof node === 'object' && last in (node as Json))
      (node as Json)[last] = f((node as Json)[last], path)
  }
  return copy
}

/**
 * Whether a parsed JSON value nests deeper than `limit` arrays or objects. Walked without recursion:
 * a deep document must not cost the stack here, and is refused before code that recurses sees it.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number]
    if (v === null || typeof v !== 'object') continue
    if (depth >= limit) return true
    for (const child of Object.values(v)) stack.push([child, depth + 1])
  }
  return false
}
