export interface Placed {
  /** 0 for systems nothing calls; otherwise one more than the furthest caller. */
  readonly column: number
  readonly row: number
  /** How many systems share the column. */
  readonly rows: number
}

/**
 * Systems in columns by the direction of their calls, left to right: a caller stands left of what
 * it calls (the longest chain of callers decides the column). A cycle (A calls B, B calls A) is
 * broken at the call found closing it, so every system still gets one column. Within a column,
 * systems sit near the average row of their callers, which keeps lines from crossing.
 */
export function columns(
  nodes: readonly string[],
  edges: ReadonlyArray<{ readonly source: string; readonly target: string }>,
): Map<string, Placed> {
  const ids = [...new Set([...nodes, ...edges.flatMap((e) => [e.source, e.target])])].sort()
  const out = new Map<string, string[]>(ids.map((id) => [id, []]))
  for (const e of edges) if (e.source !== e.target) out.get(e.source)?.push(e.target)
  // Depth-first from every system, keeping only calls that do not lead back up the current path.
  const forward = new Map<string, string[]>(ids.map((id) => [id, []]))
  const state = new Map<string, 'open' | 'done'>()
  const visit = (id: string) => {
    state.set(id, 'open')
    for (const next of out.get(id) ?? []) {
      if (state.get(next) === 'open') continue
      forward.get(id)?.push(next)
      if (!state.has(next)) visit(next)
    }
    state.set(id, 'done')
  }
  const called = new Set(edges.filter((e) => e.source !== e.target).map((e) => e.target))
  for (const id of [...ids.filter((i) => !called.has(i)), ...ids]) if (!state.has(id)) visit(id)
  // Longest path over the acyclic calls, in topological order.
  const incoming = new Map<string, number>(ids.map((id) => [id, 0]))
  for (const targets of forward.values()) for (const t of targets) incoming.set(t, (incoming.get(t) ?? 0) + 1)
  const column = new Map<string, number>(ids.map((id) => [id, 0]))
  const queue = ids.filter((id) => incoming.get(id) === 0)
  while (queue.length > 0) {
    const id = queue.shift() as string
    for (const t of forward.get(id) ?? []) {
      column.set(t, Math.max(column.get(t) ?? 0, (column.get(id) ?? 0) + 1))
      incoming.set(t, (incoming.get(t) ?? 0) - 1)
      if (incoming.get(t) === 0) queue.push(t)
    }
  }
  const callers = new Map<string, string[]>(ids.map((id) => [id, []]))
  for (const [from, targets] of forward) for (const t of targets) callers.get(t)?.push(from)
  const placed = new Map<string, Placed>()
  const depth = Math.max(0, ...column.values())
  for (let c = 0; c <= depth; c++) {
    const here = ids.filter((id) => column.get(id) === c)
    const weight = (id: string) => {
      const rows = (callers.get(id) ?? []).flatMap((p) => {
        const at = placed.get(p)
        return at ? [(at.row + 0.5) / at.rows] : []
      })
      return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : 0.5
    }
    const order = here
      .map((id) => ({ id, w: weight(id) }))
      .sort((a, b) => a.w - b.w || a.id.localeCompare(b.id))
    order.forEach(({ id }, row) => {
      placed.set(id, { column: c, row, rows: order.length })
    })
  }
  return placed
}
