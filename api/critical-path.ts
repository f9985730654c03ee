/** The minimal span shape the critical path needs: times in nanoseconds since the epoch. */
export interface TimedSpan {
  readonly spanId: string
  readonly parentSpanId: string | null
  readonly startNs: bigint
  readonly endNs: bigint
}

/** A stretch of time in nanoseconds since the epoch: [start, end). */
export type Segment = readonly [bigint, bigint]

/** The spans on the trace's critical path (see criticalSegments). */
export function criticalPath(spans: readonly TimedSpan[]): Set<string> {
  return new Set(criticalSegments(spans).keys())
}

/**
 * The trace's critical path: the chain of work that decided when the trace ended, as the stretches
 * of each span's own time that lie on it (as Jaeger draws it). From the root that ended last, walk
 * back from its end: the latest-ending child is on the path; then the latest child that had
 * finished before that one started, and so on; recurse into each chosen child the same way. A child
 * overlapping the one after it did not hold anything up. Time no chosen child covers is the span's
 * own work on the path; time a child covers belongs to the child. So a parent that only waited on
 * its child is on the path with short stretches (or none), not marked critical end to end.
 */
export function criticalSegments(spans: readonly TimedSpan[]): Map<string, Segment[]> {
  const byId = new Map(spans.map((s) => [s.spanId, s]))
  const children = new Map<string, TimedSpan[]>()
  const roots: TimedSpan[] = []
  for (const s of spans) {
    if (s.parentSpanId && byId.has(s.parentSpanId)) {
      const list = children.get(s.parentSpanId) ?? []
      list.push(s)
      children.set(s.parentSpanId, list)
    } else roots.push(s)
  }
  for (const list of children.values())
    list.sort((a, b) => (a.endNs < b.endNs ? 1 : a.endNs > b.endNs ? -1 : 0))
  const onPath = new Map<string, Segment[]>()
  const root = roots.reduce<TimedSpan | undefined>(
    (last, s) => (!last || s.endNs > last.endNs ? s : last),
    undefined,
  )
  // An explicit stack rather than recursion: traces can be deep, and a corrupt one can hold a cycle.
  const stack: Array<{ span: TimedSpan; until: bigint }> = root ? [{ span: root, until: root.endNs }] : []
  while (stack.length > 0) {
    const { span, until } = stack.pop() as { span: TimedSpan; until: bigint }
    if (onPath.has(span.spanId)) continue
    const own: Segment[] = []
    onPath.set(span.spanId, own)
    const end = min(until, span.endNs)
    let cursor = end
    for (const child of children.get(span.spanId) ?? []) {
      // The first pick may run past its parent's end (clipped); later ones must finish before the cursor.
      if (child.startNs >= cursor || (cursor !== end && child.endNs > cursor)) continue
      const childEnd = min(child.endNs, cursor)
      if (childEnd < cursor) own.push([childEnd, cursor])
      stack.push({ span: child, until: cursor })
      cursor = child.startNs
      if (cursor <= span.startNs) break
    }
    if (cursor > span.startNs) own.push([span.startNs, cursor])
    own.reverse()
  }
  return onPath
}

const min = (a: bigint, b: bigint) => (a < b ? a : b)
