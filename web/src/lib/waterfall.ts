interface TreeSpan {
  readonly spanId: string
  readonly parentSpanId?: string | null
  readonly offsetNs: string
}

/**
 * Spans in tree order: each parent followed by its children (earliest first), depth-first, so a
 * child is never drawn above its parent, as a plain sort by start time did when both began in the
 * same nanosecond. Spans whose parent is not in the trace are roots; a cycle ends the walk.
 */
export function treeOrder<S extends TreeSpan>(spans: readonly S[]): S[] {
  const ids = new Set(spans.map((s) => s.spanId))
  const children = new Map<string, S[]>()
  const roots: S[] = []
  for (const s of spans) {
    if (s.parentSpanId && ids.has(s.parentSpanId) && s.parentSpanId !== s.spanId) {
      const list = children.get(s.parentSpanId) ?? []
      list.push(s)
      children.set(s.parentSpanId, list)
    } else roots.push(s)
  }
  const byStart = (a: S, b: S) => {
    const d = BigInt(a.offsetNs) - BigInt(b.offsetNs)
    return d < 0n ? -1 : d > 0n ? 1 : 0
  }
  const ordered: S[] = []
  const seen = new Set<string>()
  const walk = (s: S) => {
    if (seen.has(s.spanId)) return
    seen.add(s.spanId)
    ordered.push(s)
    for (const c of (children.get(s.spanId) ?? []).sort(byStart)) walk(c)
  }
  for (const r of roots.sort(byStart)) walk(r)
  // Spans only reachable through a cycle (corrupt input) still appear, at the end.
  for (const s of spans) if (!seen.has(s.spanId)) walk(s)
  return ordered
}

const NICE = [1, 2, 5]

/**
 * Ticks for a time ruler over `totalNs`: round steps (1, 2 or 5 times a power of ten nanoseconds)
 * giving at most `most` intervals, each tick with its offset in nanoseconds and as a share of the whole.
 */
export function rulerTicks(totalNs: number, most = 5): Array<{ ns: number; pct: number }> {
  if (!(totalNs > 0)) return [{ ns: 0, pct: 0 }]
  let step = 1
  for (let power = 1; ; power *= 10) {
    const fit = NICE.map((n) => n * power).find((s) => totalNs / s <= most)
    if (fit) {
      step = fit
      break
    }
  }
  const ticks: Array<{ ns: number; pct: number }> = []
  for (let ns = 0; ns <= totalNs; ns += step) ticks.push({ ns, pct: (ns / totalNs) * 100 })
  return ticks
}
